"""The delivery function on Lambda-shaped stream events: order per conversation, failures and retries."""
from __future__ import annotations

import json

from chalicelib.realtime import delivery
from chalicelib.realtime.sender import use_sender
from chalicelib.services import messages, reactions
from tests.perf.test_messaging_budgets import delivery_calls, pair_of_friends, settled_connection, stream_events
from tests.support.stream_pump import table_stream


def one_batch(deliver):
    return {"Records": [record for event in stream_events(deliver) for record in event["Records"]]}


def chat_ids(sender, connection_id):
    return [frame["id"] for frame in sender.frames_for(connection_id) if frame["msg_code"] == 200]


class FailingOnce:
    """API Gateway answering 500 to the first post of one message to one connection."""

    def __init__(self, sender, connection_id, message):
        self._sender, self._target, self._message, self.failed = sender, connection_id, message, 0

    def post(self, connection_id, data):
        if connection_id == self._target and json.loads(data).get("message") == self._message and not self.failed:
            self.failed += 1
            raise RuntimeError("500 Internal Server Error")
        self._sender.post(connection_id, data)

    def close(self, connection_id):
        self._sender.close(connection_id)


def sent_content(record):
    """The content of the message a head record carries (a send's delivery), or None."""
    sent = record["dynamodb"].get("NewImage", {}).get("sent", {}).get("S")
    return json.loads(sent).get("content") if sent else None


def handle_failing_once(sender, batch, connection_id, message):
    """The batch delivered while the first post of `message` to `connection_id` fails: the handler's answer, and
    the record of that message."""
    record = next(record for record in batch["Records"] if sent_content(record) == message)
    failing = FailingOnce(sender, connection_id, message)
    use_sender(failing)
    try:
        answer = delivery.handle(batch)
    finally:
        use_sender(sender)
    assert failing.failed == 1
    return answer, record


def test_a_failed_post_fails_its_record_and_the_retry_repeats_nothing(client, sender, deliver):
    """b0's post of ab1 answers 500: ab1 is reported; b1 (b's other socket) and the other conversation got what
    they got, once. The retry posts ab1 to b0 only, then ab2 to both, and skips what was delivered."""
    a, b = pair_of_friends(client)
    c, d = pair_of_friends(client)
    settled_connection("b0", b)
    settled_connection("b1", b)
    settled_connection("d0", d)
    stream_events(deliver)
    for n in range(3):
        messages.send(a, to_id=b, channel_type=1, msg_type=1, message=f"ab{n}", data=None, msg_client_id=n + 1)
        messages.send(c, to_id=d, channel_type=1, msg_type=1, message=f"cd{n}", data=None, msg_client_id=n + 1)
    batch = one_batch(deliver)
    answer, second_to_b = handle_failing_once(sender, batch, "b0", "ab1")
    assert answer == {"batchItemFailures": [{"itemIdentifier": second_to_b["dynamodb"]["SequenceNumber"]}]}
    assert chat_ids(sender, "b0") == [1] and chat_ids(sender, "b1") == [1, 2]
    assert chat_ids(sender, "d0") == [1, 2, 3]  # the other conversation went on
    retried = batch["Records"][batch["Records"].index(second_to_b):]  # the mapping retries from the failure
    assert delivery.handle({"Records": retried}) == {"batchItemFailures": []}
    assert chat_ids(sender, "b0") == [1, 2, 3] and chat_ids(sender, "b1") == [1, 2, 3]
    assert chat_ids(sender, "d0") == [1, 2, 3]  # nothing repeated


class Context:
    """A Lambda context whose remaining time drops below the margin after `calls` questions."""

    def __init__(self, calls):
        self.calls = calls

    def get_remaining_time_in_millis(self):
        self.calls -= 1
        return 300_000 if self.calls >= 0 else 1_000


def test_a_batch_stops_before_its_deadline_and_reports_the_first_record_not_delivered(client, sender, deliver):
    a, b = pair_of_friends(client)
    settled_connection("b0", b)
    stream_events(deliver)
    for n in range(3):
        messages.send(a, to_id=b, channel_type=1, msg_type=1, message=f"ab{n}", data=None, msg_client_id=n + 1)
    batch = one_batch(deliver)
    answer = delivery.handle(batch, Context(calls=0))  # time runs short before the first record
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["dynamodb"]["SequenceNumber"]}]}
    assert sender.sent == []
    assert delivery.handle(batch, Context(calls=100)) == {"batchItemFailures": []}
    assert chat_ids(sender, "b0") == [1, 2, 3]


def test_records_of_other_items_cost_nothing(client, sender, deliver, aws_calls):
    """The stream's filter keeps them from the function (infra/delivery_filter.py); were one to reach it anyway
    (a filter edited by hand), it is ignored without a call."""
    a, b = pair_of_friends(client)
    deliver.reader = table_stream(passes=lambda record: True)  # as if there were no filter
    stream_events(deliver)
    settled_connection("b0", b)  # connection items
    events = stream_events(deliver)
    assert sum(len(event["Records"]) for event in events) > 0
    assert delivery_calls(aws_calls, events) == {}
    assert sender.sent == []


def reaction_counts(sender, connection_id):
    return [{each["emoji"]: each["count"] for each in frame["reactions"]} for frame in sender.frames_for(connection_id)
            if frame["msg_code"] == 1009]


def test_a_batch_pushes_each_message_s_newest_reaction_counts_once(client, sender, deliver):
    """Four reactions to one message and one to another, in one batch: one frame per message and connection, the
    newest counts."""
    a, b = pair_of_friends(client)
    settled_connection("a0", a)
    settled_connection("b0", b)
    first = messages.send(a, to_id=b, channel_type=1, msg_type=1, message="one", data=None, msg_client_id=1)["id"]
    second = messages.send(a, to_id=b, channel_type=1, msg_type=1, message="two", data=None, msg_client_id=2)["id"]
    stream_events(deliver)
    reactions.react(b, to_id=a, channel_type=1, seq=first, emoji="👍", on=1)
    reactions.react(a, to_id=b, channel_type=1, seq=first, emoji="👍", on=1)
    reactions.react(b, to_id=a, channel_type=1, seq=second, emoji="🎉", on=1)
    reactions.react(a, to_id=b, channel_type=1, seq=first, emoji="🎉", on=1)
    reactions.react(b, to_id=a, channel_type=1, seq=first, emoji="👍", on=0)
    batch = one_batch(deliver)
    assert len(batch["Records"]) == 5
    assert delivery.handle(batch) == {"batchItemFailures": []}
    for connection_id in ("a0", "b0"):
        pushed = sender.frames_for(connection_id)
        assert [(frame["id"], frame["form_id"], frame["emoji"], frame["on"]) for frame in pushed] == [
            (second, b, "🎉", 1), (first, b, "👍", 0)]
        assert reaction_counts(sender, connection_id) == [{"🎉": 1}, {"👍": 1, "🎉": 1}]


def test_a_retry_after_a_failure_between_two_reactions_still_pushes_the_newest_counts(client, sender, deliver):
    """The first reaction makes no frame (the second carries its count); the chat message between them fails for
    b0, so the conversation stops there and the retry starts there: both sockets get the message once, then the
    second reaction's counts."""
    a, b = pair_of_friends(client)
    settled_connection("b0", b)
    settled_connection("b1", b)
    sent = messages.send(a, to_id=b, channel_type=1, msg_type=1, message="hi", data=None, msg_client_id=1)["id"]
    stream_events(deliver)
    reactions.react(a, to_id=b, channel_type=1, seq=sent, emoji="👍", on=1)
    messages.send(a, to_id=b, channel_type=1, msg_type=1, message="between", data=None, msg_client_id=2)
    reactions.react(b, to_id=a, channel_type=1, seq=sent, emoji="👍", on=1)
    batch = one_batch(deliver)
    answer, between = handle_failing_once(sender, batch, "b0", "between")
    assert answer == {"batchItemFailures": [{"itemIdentifier": between["dynamodb"]["SequenceNumber"]}]}
    assert sender.frames_for("b0") == []
    assert [frame["message"] for frame in sender.frames_for("b1")] == ["between"]
    retried = batch["Records"][batch["Records"].index(between):]
    assert delivery.handle({"Records": retried}) == {"batchItemFailures": []}
    for connection_id in ("b0", "b1"):
        assert [frame["msg_code"] for frame in sender.frames_for(connection_id)] == [200, 1009]
        assert reaction_counts(sender, connection_id) == [{"👍": 2}]

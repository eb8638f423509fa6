"""The delivery function on Lambda-shaped stream events: order per conversation, failures and retries."""
from __future__ import annotations

from chalicelib.realtime import delivery
from chalicelib.services import messages
from tests.perf.test_messaging_budgets import delivery_calls, pair_of_friends, settled_connection, stream_events


def one_batch(deliver):
    return {"Records": [record for event in stream_events(deliver) for record in event["Records"]]}


def chat_ids(sender, connection_id):
    return [frame["id"] for frame in sender.frames_for(connection_id) if frame["msg_code"] == 200]


def test_a_failure_stops_its_own_conversation_and_is_retried_from_there(client, sender, deliver, monkeypatch):
    a, b = pair_of_friends(client)
    c, d = pair_of_friends(client)
    settled_connection("b0", b)
    settled_connection("d0", d)
    stream_events(deliver)
    for n in range(3):
        messages.send(a, to_id=b, channel_type=1, msg_type=1, message=f"ab{n}", data=None, msg_client_id=n + 1)
        messages.send(c, to_id=d, channel_type=1, msg_type=1, message=f"cd{n}", data=None, msg_client_id=n + 1)
    batch = one_batch(deliver)
    second_to_b = next(record for record in batch["Records"]
                       if record["dynamodb"]["NewImage"].get("content", {}).get("S") == "ab1")
    real_push = delivery.push

    def failing_push(deliveries, **kwargs):
        if any(frame.get("message") == "ab1" for _, frame in deliveries):
            raise RuntimeError("keeping the frame failed: DynamoDB throttled it past the retries")
        return real_push(deliveries, **kwargs)

    monkeypatch.setattr(delivery, "push", failing_push)
    answer = delivery.handle(batch)
    assert answer == {"batchItemFailures": [{"itemIdentifier": second_to_b["dynamodb"]["SequenceNumber"]}]}
    assert chat_ids(sender, "b0") == [1]  # nothing after the failure in its conversation
    assert chat_ids(sender, "d0") == [1, 2, 3]  # the other conversation went on
    monkeypatch.setattr(delivery, "push", real_push)
    retried = batch["Records"][batch["Records"].index(second_to_b):]  # the mapping retries from the failure
    assert delivery.handle({"Records": retried}) == {"batchItemFailures": []}
    assert chat_ids(sender, "b0") == [1, 2, 3]
    assert chat_ids(sender, "d0")[:3] == [1, 2, 3]  # then again from the retry point: repeats, never reordered


def test_records_of_other_items_cost_nothing(client, sender, deliver, aws_calls):
    a, b = pair_of_friends(client)
    stream_events(deliver)
    settled_connection("b0", b)  # connection items: their records reach the function, which ignores them
    events = stream_events(deliver)
    assert sum(len(event["Records"]) for event in events) > 0
    assert delivery_calls(aws_calls, events) == {}
    assert sender.sent == []

"""Messaging costs: calls per send, flat history reads, parallel fan-out (P1, P3, P6)."""
from __future__ import annotations

import math
import time

import pytest

from chalicelib import clock
from chalicelib.db import connections, keys, pending
from chalicelib.db import groups as groups_db
from chalicelib.db.groups import MEMBER, OWNER, GroupRecord, NewMember
from chalicelib.db.models import Message
from chalicelib.realtime import push
from chalicelib.realtime.sender import get_sender
from tests.support import seeding
from tests.support.factories import befriend, get, post_form, register
from tests.support.fakes import RecordingSender


def settled_connection(connection_id, user_id):
    """A connection that caught up: what was kept for its user (the bot's greeting, friend events) was replayed to
    it and is set aside, so nothing is kept and a test sees only what comes after."""
    connections.add(connection_id, user_id, clock.now(), connections.LIFETIME_SECONDS,
                    connections.Presented("test", 0), 1000)
    push.replay(user_id)
    get_sender().forget(connection_id)  # type: ignore[attr-defined]  # the tests' RecordingSender


def request_calls(log):
    return {name: count for name, count in log.calls.items() if name.startswith("dynamodb.")
            or name.startswith("apigatewaymanagementapi.")}


def test_private_send_costs_a_read_and_four_single_item_writes_and_waits_for_no_push(client, sender, aws_calls):
    """The send itself: one consistent BatchGetItem, the sender's quota (one conditional UpdateItem), the head's
    increment carrying the message (UpdateItem), the claim and the history item (PutItem each); no transaction, so
    no sender of the conversation waits on another (a session the peer removed shows again by the head's sequence,
    with no write). The fan-out (connection lookup, posts, keeping frames) is the delivery function's."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    for index in range(3):
        settled_connection(f"b{index}", b["id"])
    settled_connection("a0", a["id"])
    aws_calls.reset()
    answer = post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": b["id"], "msg_type": 1,
                                                     "message": "hi"}, a["token"]).json_body
    assert answer["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}
    assert len(sender.sent) == 3  # delivered after the answer: three of b's connections; none to the sender's own


def pair_of_friends(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a["id"], b["id"]


def stream_events(deliver):
    """The Lambda events the stream holds now, taken without delivering them."""
    events = []
    handler = deliver.reader._handler
    deliver.reader._handler = lambda event, _: events.append(event)
    try:
        deliver()
    finally:
        deliver.reader._handler = handler
    return events


def delivery_calls(aws_calls, events):
    from chalicelib.realtime import delivery

    aws_calls.reset()
    for event in events:
        assert delivery.handle(event) == {"batchItemFailures": []}
    return request_calls(aws_calls)


def test_delivering_a_private_message_costs_one_read_plus_one_post_per_connection(client, sender, aws_calls, deliver):
    from chalicelib.services import messages
    a, b = pair_of_friends(client)
    for index in range(3):
        settled_connection(f"b{index}", b)
    stream_events(deliver)
    messages.send(a, to_id=b, channel_type=1, msg_type=1, message="hi", data=None, msg_client_id=1)
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 1}
    assert len(sender.sent) == 3  # the fake sender's posts are not AWS calls: one per connection


def test_a_recipient_with_kept_frames_costs_a_keep_and_a_replay_once(client, sender, aws_calls, deliver):
    """b's socket is open but has sent nothing (no heartbeat yet, or the delivery runs behind): its set says frames
    are kept, so the new frame is kept behind them and the user's replay posts them all, oldest first."""
    from chalicelib.services import messages
    a, b = pair_of_friends(client)
    stream_events(deliver)
    kept = len(pending.list_for(b, clock.now()))  # the bot's greeting and a's request, kept while b was offline
    assert kept >= 2
    connections.add("b0", b, clock.now(), connections.LIFETIME_SECONDS, connections.Presented("test", 0), 1000)
    messages.send(a, to_id=b, channel_type=1, msg_type=1, message="hi", data=None, msg_client_id=1)
    # the batch's read; keeping the frame and reading the set again (kept already: no raise); the replay: the
    # hold, one page of kept frames, their deletion, the clear
    assert delivery_calls(aws_calls, stream_events(deliver)) == {
        "dynamodb.BatchGetItem": 2, "dynamodb.BatchWriteItem": 2, "dynamodb.Query": 1, "dynamodb.UpdateItem": 2}
    assert [frame.get("message") for frame in sender.frames_for("b0")][-1] == "hi"
    assert len(sender.frames_for("b0")) == kept + 1
    messages.send(a, to_id=b, channel_type=1, msg_type=1, message="again", data=None, msg_client_id=2)
    # nothing is kept any more: the set says so, in the same read
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 1}


def test_a_frame_kept_behind_a_replay_that_finished_since_the_batch_read_is_taken_back_not_replayed(
        client, sender, aws_calls, deliver):
    """The batch read b's set while b's replay was still posting what was kept; by the time the keeper reads the set
    again the replay has cleared it. The frame needs no second replay: it is taken back and posted live."""
    a, b = pair_of_friends(client)
    stream_events(deliver)
    connections.add("b0", b, clock.now(), connections.LIFETIME_SECONDS, connections.Presented("test", 0), 1000)
    seen, _ = connections.reach([b], clock.now(), consistent=True)
    assert seen[b].kept
    push.replay(b)  # finishes after the batch's read
    kept_before = len(sender.frames_for("b0"))
    aws_calls.reset()
    replays = push.Replays(push.Deadline())
    assert push.deliver([(b, push.encode({"msg_code": 200, "message": "hi"}))], "000000000000009#0",
                        push.Recipients(seen), replays) == {}
    assert replays.wait() == 0
    # keeping the frame, reading b's set again (nothing kept any more), taking the frame back: no raise, no replay
    assert request_calls(aws_calls) == {"dynamodb.BatchWriteItem": 1, "dynamodb.BatchGetItem": 1,
                                        "dynamodb.TransactWriteItems": 1}
    assert [frame.get("message") for frame in sender.frames_for("b0")[kept_before:]] == ["hi"]
    assert pending.list_for(b, clock.now()) == []


def test_delivering_to_an_offline_recipient_keeps_the_frame_with_one_write_and_one_read(client, sender, aws_calls,
                                                                                         deliver):
    from chalicelib.services import messages
    a, b = pair_of_friends(client)
    stream_events(deliver)
    messages.send(a, to_id=b, channel_type=1, msg_type=1, message="hi", data=None, msg_client_id=1)
    # the batch's read, keeping the frame, reading b's set again (its `kept` is set already, by the greeting: no
    # write; a user's first kept frame adds one UpdateItem raising it)
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 2,
                                                                "dynamodb.BatchWriteItem": 1}
    assert sender.sent == []


def test_a_batch_reads_the_connections_of_all_its_recipients_at_once(client, sender, aws_calls, deliver):
    """A batch of 20 private messages to an online user costs one connection read, not 20."""
    from chalicelib.services import messages
    a, b = pair_of_friends(client)
    settled_connection("b0", b)
    stream_events(deliver)
    for n in range(20):
        messages.send(a, to_id=b, channel_type=1, msg_type=1, message=f"m{n}", data=None, msg_client_id=n + 1)
    events = stream_events(deliver)
    messages_in_batch = sum(1 for event in events for record in event["Records"]
                            if record["dynamodb"].get("NewImage", {}).get("fresh", {}).get("BOOL"))
    assert messages_in_batch == 20
    assert delivery_calls(aws_calls, events) == {"dynamodb.BatchGetItem": 1}
    assert [frame["id"] for frame in sender.frames_for("b0")] == list(range(1, 21))


def seed_messages(conversation: str, count: int) -> None:
    """History the app did not send (stored directly: no stream records, nothing to deliver)."""
    now = time.time()
    seeding.store(Message(conversation, keys.message_sk(seq), seq=seq, msg_id=seq, msg_client_id=seq, form_id=2,
                          to_id=3, channel_type=1, msg_type=1, content=f"m{seq}", send_time=now)
                  for seq in range(1, count + 1))


def test_history_page_reads_are_flat(client, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    conversation = keys.private_conversation(a["id"], b["id"])
    seed_messages(conversation, 10)
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], page=6, pageSize=5)
    small = (dict(aws_calls.calls), aws_calls.scanned)
    seed_messages(conversation, 10_000)
    get(client, "/friends", a["token"])  # seeding may outlast the 60 s token-check cache: a checked token again
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], page=6, pageSize=5)
    large = (dict(aws_calls.calls), aws_calls.scanned)
    # the page, then one batch: the conversation head, both profiles and the friendship (whose emails I may see);
    # one Query of the page's reactions
    assert small[0] == large[0] == {"dynamodb.Query": 2, "dynamodb.BatchGetItem": 1}
    assert small[1] == large[1]
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], pageSize=50)
    # the first page also moves my read position forward, and that sends b a read receipt (services/receipts.py):
    # its pace and my receipts quota (2 UpdateItem), b's connections (1 BatchGetItem); reactions: 1 Query a page
    assert dict(aws_calls.calls) == {"dynamodb.Query": 2, "dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 3}
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], pageSize=50)
    # a first page that moves nothing: the mark's conditional write only
    assert dict(aws_calls.calls) == {"dynamodb.Query": 2, "dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 1}


@pytest.mark.parametrize("size", [10, 300])
def test_group_send_costs_five_calls_whatever_the_size(client, sender, aws_calls, size):
    owner = register(client)
    now = clock.now()
    group = GroupRecord(9000 + size, owner["id"], "big", "info", "", "", 0, None, 0, now, size)
    member_ids = [owner["id"]] + [50_000 + index for index in range(size - 1)]
    groups_db.create(group, [NewMember(uid, OWNER if uid == owner["id"] else MEMBER, None) for uid in member_ids],
                     now, {})
    for uid in member_ids:
        settled_connection(f"c{uid}", uid)
    get(client, "/friends", owner["token"])  # budgets are for a token this process has checked
    aws_calls.reset()
    answer = post_form(client, "/messages/group", {"msg_client_id": 1, "to_id": group.id, "msg_type": 1,
                                                   "message": "hi all"}, owner["token"]).json_body
    assert answer["code"] == 200
    # the send is the same whatever the group's size: the fan-out is the delivery function's; the member count
    # the sender's quota is charged by comes in the same BatchGetItem, the quota is one conditional UpdateItem,
    # then the head, the claim and the history item
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}
    assert len(sender.sent) == size


@pytest.mark.parametrize("size", [10, 300])
def test_delivering_group_messages_costs_one_member_query_and_one_read_per_hundred_members_per_batch(
        client, sender, aws_calls, deliver, size):
    from chalicelib.services import groups as group_service

    owner = register(client)["id"]
    now = clock.now()
    group = GroupRecord(9000 + size, owner, "big", "info", "", "", 0, None, 0, now, size)
    member_ids = [owner] + [50_000 + index for index in range(size - 1)]
    groups_db.create(group, [NewMember(uid, OWNER if uid == owner else MEMBER, None) for uid in member_ids], now, {})
    for uid in member_ids:
        settled_connection(f"c{uid}", uid)
    stream_events(deliver)
    for n in range(3):
        group_service.send(owner, group_id=group.id, msg_type=1, message=f"hi all {n}", msg_client_id=n + 1)
    events = stream_events(deliver)
    assert len(events) == 1
    calls = delivery_calls(aws_calls, events)
    # the connection sets of the members and the record a failed batch would have left, 100 keys per call
    assert calls == {"dynamodb.Query": math.ceil(size * 150 / 1_000_000) or 1,
                     "dynamodb.BatchGetItem": math.ceil((size + 1) / 100)}, calls
    assert len(sender.sent) == 3 * size


def test_fan_out_is_parallel(aws):
    from chalicelib.realtime.sender import use_sender

    now = clock.now()
    users = [70_000 + index for index in range(100)]
    for user_id in users:
        connections.add(f"slow{user_id}", user_id, now, 3600, connections.Presented("test", 0), 1000)
    reach, _ = connections.reach(users, now, consistent=True)
    slow = RecordingSender(delay_seconds=0.02)
    use_sender(slow)
    try:
        started = time.perf_counter()
        owed = push.deliver([(user_id, push.encode({"msg_code": 200})) for user_id in users], "0#0",
                            push.Recipients(reach), push.Replays(push.Deadline()))
        elapsed = time.perf_counter() - started
    finally:
        use_sender(None)
    serial = 100 * 0.02
    assert owed == {} and len(slow.sent) == 100
    assert elapsed <= 0.25 * serial, f"parallel fan-out took {elapsed:.3f}s against {serial:.1f}s serial"


@pytest.mark.parametrize("recall_last", [True, False])
def test_recall_costs_one_read_one_quota_write_and_one_write(client, sender, aws_calls, recall_last):
    """One BatchGetItem (message, head, recaller), the recaller's quota (one conditional UpdateItem); then one
    transaction when the message is the preview (it becomes the notice too), else one UpdateItem. The 1007 frames
    are the delivery function's."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    sent = [post_form(client, "/messages/private", {"msg_client_id": n, "to_id": b["id"], "msg_type": 1,
                                                    "message": f"m{n}"}, a["token"]).json_body["data"] for n in (1, 2)]
    aws_calls.reset()
    seq = sent[1 if recall_last else 0]["id"]
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": seq}, a["token"]).json_body["code"] == 200
    write = {"dynamodb.TransactWriteItems": 1, "dynamodb.UpdateItem": 1} if recall_last \
        else {"dynamodb.UpdateItem": 2}
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, **write}, dict(aws_calls.calls)

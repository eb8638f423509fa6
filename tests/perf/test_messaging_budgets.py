"""Messaging costs: calls per send, flat history reads, parallel fan-out (P1, P3, P6)."""
from __future__ import annotations

import math
import time

import pytest

from chalicelib import clock
from chalicelib.db import connections, keys
from chalicelib.db import groups as groups_db
from chalicelib.db.groups import MEMBER, OWNER, GroupRecord, NewMember
from chalicelib.db.models import Message
from chalicelib.realtime import push
from tests.support.factories import befriend, get, post_form, register
from tests.support.fakes import RecordingSender


def dynamodb_calls(log):
    return sum(n for name, n in log.calls.items() if name.startswith("dynamodb."))


def test_private_send_costs_at_most_four_dynamodb_calls_plus_one_post_per_connection(client, sender, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    for index in range(3):
        connections.add(f"b{index}", b["id"], clock.now(), 3600, connections.Presented("test", 0), 1000)
    connections.add("a0", a["id"], clock.now(), 3600, connections.Presented("test", 0), 1000)
    aws_calls.reset()
    answer = post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": b["id"], "msg_type": 1,
                                                     "message": "hi"}, a["token"]).json_body
    assert answer["code"] == 200
    assert dynamodb_calls(aws_calls) <= 4, dict(aws_calls.calls)
    assert len(sender.sent) == 3  # three of b's connections; none to the sender's own
    assert not any(name.endswith(".Scan") for name in aws_calls.calls)


def test_private_send_to_an_offline_recipient_adds_one_write_to_keep_it_and_one_read_for_late_connections(
        client, sender, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    aws_calls.reset()
    answer = post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": b["id"], "msg_type": 1,
                                                     "message": "hi"}, a["token"]).json_body
    assert answer["code"] == 200
    dynamodb = {name: count for name, count in aws_calls.calls.items() if name.startswith("dynamodb.")}
    # the online send's four (BatchGet 2, TransactWrite 1, Update 1) + keeping the frame + looking for late sockets
    assert dynamodb == {"dynamodb.BatchGetItem": 3, "dynamodb.TransactWriteItems": 1, "dynamodb.UpdateItem": 1,
                        "dynamodb.BatchWriteItem": 1}
    assert sender.sent == []


def seed_messages(conversation: str, count: int) -> None:
    now = time.time()
    with Message.batch_write() as batch:
        for seq in range(1, count + 1):
            batch.save(Message(conversation, keys.message_sk(seq), seq=seq, msg_id=seq, msg_client_id=seq, form_id=2,
                               to_id=3, channel_type=1, msg_type=1, content=f"m{seq}", send_time=now))


def test_history_page_reads_are_flat(client, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    conversation = keys.private_conversation(a["id"], b["id"])
    seed_messages(conversation, 10)
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], page=6, pageSize=5)
    small = (dict(aws_calls.calls), aws_calls.scanned)
    seed_messages(conversation, 10_000)
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], page=6, pageSize=5)
    large = (dict(aws_calls.calls), aws_calls.scanned)
    # the page, then one batch: the conversation head, both profiles and the friendship (whose emails I may see)
    assert small[0] == large[0] == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
    assert small[1] == large[1]
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], pageSize=50)
    # the first page also moves my read position forward
    assert dict(aws_calls.calls) == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 1}


@pytest.mark.parametrize("size", [10, 300])
def test_group_send_costs_four_plus_one_per_hundred_members(client, sender, aws_calls, size):
    owner = register(client)
    now = clock.now()
    group = GroupRecord(9000 + size, owner["id"], "big", "info", "", "", 0, None, 0, now, size)
    member_ids = [owner["id"]] + [50_000 + index for index in range(size - 1)]
    groups_db.create(group, [NewMember(uid, OWNER if uid == owner["id"] else MEMBER, None) for uid in member_ids],
                     now)
    for uid in member_ids:
        connections.add(f"c{uid}", uid, now, 3600, connections.Presented("test", 0), 1000)
    aws_calls.reset()
    answer = post_form(client, "/messages/group", {"msg_client_id": 1, "to_id": group.id, "msg_type": 1,
                                                   "message": "hi all"}, owner["token"]).json_body
    assert answer["code"] == 200
    assert dynamodb_calls(aws_calls) <= 4 + math.ceil(size / 100), dict(aws_calls.calls)
    assert len(sender.sent) == size


def test_fan_out_is_parallel(aws):
    from chalicelib.realtime.sender import use_sender

    now = clock.now()
    for index in range(100):
        connections.add(f"slow{index}", 70_000 + index, now, 3600, connections.Presented("test", 0), 1000)
    slow = RecordingSender(delay_seconds=0.02)
    use_sender(slow)
    try:
        started = time.perf_counter()
        report = push.push([(70_000 + index, {"msg_code": 200}) for index in range(100)])
        elapsed = time.perf_counter() - started
    finally:
        use_sender(None)
    serial = 100 * 0.02
    assert report.delivered == 100
    assert elapsed <= 0.25 * serial, f"parallel fan-out took {elapsed:.3f}s against {serial:.1f}s serial"


@pytest.mark.parametrize("recall_last", [True, False])
def test_recall_costs_one_read_and_one_write(client, sender, aws_calls, recall_last):
    """One BatchGetItem (message, head, recaller); then one transaction when the message is the preview (it
    becomes the notice too), else one UpdateItem. The 1007 push to the offline pair adds its two reads
    (connections, then connections opened meanwhile) and the kept frames' BatchWriteItem."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    sent = [post_form(client, "/messages/private", {"msg_client_id": n, "to_id": b["id"], "msg_type": 1,
                                                    "message": f"m{n}"}, a["token"]).json_body["data"] for n in (1, 2)]
    aws_calls.reset()
    seq = sent[1 if recall_last else 0]["id"]
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": seq}, a["token"]).json_body["code"] == 200
    dynamodb = {name: count for name, count in aws_calls.calls.items()
                if name.startswith("dynamodb.") and name != "dynamodb.BatchWriteItem"}
    write = {"dynamodb.TransactWriteItems": 1} if recall_last else {"dynamodb.UpdateItem": 1}
    assert dynamodb == {"dynamodb.BatchGetItem": 3, **write}, dict(aws_calls.calls)

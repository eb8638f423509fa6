"""What replies and mentions cost: a plain send nothing more, a reply one batched read, history one read per page
that quotes messages off the page."""
from __future__ import annotations

from tests.api.test_groups import make_group
from tests.perf.test_messaging_budgets import request_calls, settled_connection
from tests.support.factories import befriend, get, post_form, register


def send(client, user, to_id, text, client_id, channel_type=1, **extra):
    fields = {"msg_client_id": client_id, "to_id": to_id, "msg_type": 1, "message": text,
              "channel_type": channel_type, **extra}
    answer = post_form(client, "/messages/private", fields, user["token"]).json_body
    assert answer["code"] == 200, answer
    return answer["data"]


def test_a_private_reply_costs_one_batched_read_more_than_a_plain_send(client, sender, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    settled_connection("b0", b["id"])
    send(client, a, b["id"], "question", 1)
    aws_calls.reset()
    send(client, b, a["id"], "plain", 2)
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}
    aws_calls.reset()
    send(client, b, a["id"], "answer", 3, reply_to=1)
    # the send's own batch, then the replied-to message
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}


def test_a_group_reply_costs_one_batched_read_more_than_a_plain_group_send(client, sender, aws_calls):
    owner, b = register(client), register(client)
    befriend(client, owner, b)
    group = make_group(client, owner, [b])
    send(client, owner, group["id"], "question", 1, channel_type=2)
    aws_calls.reset()
    send(client, b, group["id"], "answer", 2, channel_type=2, reply_to=1)
    # the replied-to message and the sender's membership (its join) in one BatchGetItem
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}


def test_history_reads_quoted_messages_only_when_they_are_off_the_page(client, sender, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    send(client, a, b["id"], "question", 1)
    send(client, b, a["id"], "answer", 2, reply_to=1)
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], pageSize=2)
    # as any first page that moves my read position: the page and its reactions (2 Queries), one batch (head,
    # profiles, friendship, both read positions), the read mark, then b's read receipt (its pace, my quota, b's sockets)
    assert request_calls(aws_calls) == {"dynamodb.Query": 2, "dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 3}
    aws_calls.reset()
    get(client, "/messages", a["token"], to_id=b["id"], pageSize=1)
    # the quoted message is on an older page: one BatchGetItem of the quoted messages for the whole page
    assert request_calls(aws_calls) == {"dynamodb.Query": 2, "dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 1}


def test_mentions_cost_one_batched_read_and_one_write_and_the_sessions_list_nothing_more(client, sender, aws_calls):
    owner, b, c = register(client), register(client), register(client)
    befriend(client, owner, b)
    befriend(client, owner, c)
    group = make_group(client, owner, [b, c])
    get(client, "/sessions", c["token"])
    aws_calls.reset()
    get(client, "/sessions", c["token"])
    sessions_before = request_calls(aws_calls)
    aws_calls.reset()
    send(client, b, group["id"], "@c", 1, channel_type=2, at_ids=[c["id"], owner["id"]])
    # the memberships of the sender and the mentioned in one BatchGetItem; their sessions in one transaction
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.TransactWriteItems": 1,
                                        "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}
    aws_calls.reset()
    send(client, owner, group["id"], "@all", 2, channel_type=2, at_all=1)
    # the sender's role in one BatchGetItem; the group item's newest at_all in one UpdateItem
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 3, "dynamodb.PutItem": 2}
    aws_calls.reset()
    (session,) = [s for s in get(client, "/sessions", c["token"]).json_body["data"] if s["group_id"] == group["id"]]
    assert session["at_me"] == 1
    assert request_calls(aws_calls) == sessions_before  # at_me is read from the items the list reads anyway


def test_read_receipts_cost_and_group_reads(client, sender, aws_calls):
    owner, b = register(client), register(client)
    befriend(client, owner, b)
    group = make_group(client, owner, [b])
    sent = send(client, owner, group["id"], "read me", 1, channel_type=2)
    (session,) = [s for s in get(client, "/sessions", owner["token"]).json_body["data"] if s["to_id"] == b["id"]]
    aws_calls.reset()
    post_form(client, f"/sessions/{session['id']}", {"read_seq": 1}, owner["token"], method="put")
    # the session's index (read once, for the write and the receipt) and the write, then the receipt: both profiles
    # (their settings), the pace and the quota, b's connections
    assert request_calls(aws_calls) == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 2}
    aws_calls.reset()
    get(client, f"/groups/{group['id']}/reads", b["token"], id=sent["id"])
    # the members (one Query), then the message, their sessions and profiles (one BatchGetItem per 100 keys)
    assert request_calls(aws_calls) == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}

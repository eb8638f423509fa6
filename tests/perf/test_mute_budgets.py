"""What mutes cost: nothing on a send, nothing more in the delivery's reads, a write or two to set."""
from __future__ import annotations

import time

from tests.api.test_groups import make_group
from tests.perf.test_messaging_budgets import request_calls
from tests.support.factories import befriend, get, post_form, register


def test_muting_a_session_costs_its_index_read_and_one_write(client, aws_calls):
    a, b = register(client), register(client)
    befriend(client, a, b)
    group = make_group(client, a, [b])
    sessions = get(client, "/sessions", b["token"]).json_body["data"]
    private = next(s for s in sessions if s["to_id"] == a["id"])
    in_group = next(s for s in sessions if s["group_id"] == group["id"])
    aws_calls.reset()
    post_form(client, f"/sessions/{private['id']}", {"mute_until": int(time.time()) + 60}, b["token"], method="put")
    assert request_calls(aws_calls) == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 1}
    aws_calls.reset()
    post_form(client, f"/sessions/{in_group['id']}", {"mute_until": -1}, b["token"], method="put")
    # the session and the membership's copy (what the delivery reads) in one transaction
    assert request_calls(aws_calls) == {"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1}
    aws_calls.reset()
    post_form(client, f"/sessions/{private['id']}", {"mute_until": 0, "top_status": 1}, b["token"], method="put")
    # the index once for both changes; the mute and the pin are two writes
    assert request_calls(aws_calls) == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 2}


def test_a_send_checks_silences_without_a_call_and_a_silence_costs_its_reads_quota_write_and_notice(
        client, sender, aws_calls):
    owner, b = register(client), register(client)
    befriend(client, owner, b)
    group = make_group(client, owner, [b])
    aws_calls.reset()
    assert post_form(client, f"/groups/{group['id']}/mute", {"all": 1}, owner["token"]).json_body["code"] == 200
    # the group and my membership; my name; the quota; the flag (with my role checked in the same transaction);
    # the notice (its send batch, head, claim and history item)
    assert request_calls(aws_calls) == {"dynamodb.GetItem": 2, "dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 2,
                                        "dynamodb.TransactWriteItems": 1, "dynamodb.PutItem": 2}
    aws_calls.reset()
    answer = post_form(client, "/messages/group", {"msg_client_id": 1, "to_id": group["id"], "msg_type": 1,
                                                   "message": "hm"}, b["token"]).json_body
    assert answer["code"] == 1003
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1}  # refused on the send's own read
    aws_calls.reset()
    answer = post_form(client, "/messages/group", {"msg_client_id": 2, "to_id": group["id"], "msg_type": 1,
                                                   "message": "owner"}, owner["token"]).json_body
    assert answer["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2, "dynamodb.PutItem": 2}

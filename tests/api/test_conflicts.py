"""Every write path meets real DynamoDB's transaction conflicts (injected: moto never answers them).

A conflict once → the step reads again, writes again and succeeds; conflicts every time → HTTP 503 with
Retry-After and nothing written (counters excepted: an id drawn and not used is a harmless gap).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import aws
from chalicelib.db import buckets, conflicts, connections, counters, pending
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, delete, post_form, random_email, random_name, register


def table_items() -> dict[tuple[str, str], dict[str, Any]]:
    """The whole table (tests only), without counters."""
    client = aws.client("dynamodb")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"], ConsistentRead=True):
        for item in page["Items"]:
            if item["SK"]["S"] not in ("COUNTER",):
                found[(item["PK"]["S"], item["SK"]["S"])] = item
    return found


def ask(client, a, b):
    return post_form(client, "/friends/record", {"to_id": b["id"], "information": "hi"}, a["token"])


def request_id(client, a, b):
    answer = ask(client, a, b).json_body
    assert answer["code"] == 200, answer
    return answer["data"]["id"]


def _friend_request(client, users):
    a, b, _ = users
    return lambda: ask(client, a, b)


def _friend_accept(client, users):
    a, b, _ = users
    record = request_id(client, a, b)
    return lambda: post_form(client, "/friends/record", {"id": record, "status": 1}, b["token"], method="put")


def _friend_reject(client, users):
    a, b, _ = users
    record = request_id(client, a, b)
    return lambda: post_form(client, "/friends/record", {"id": record, "status": 2}, b["token"], method="put")


def _friend_delete(client, users):
    a, b, _ = users
    befriend(client, a, b)
    return lambda: delete(client, f"/friends/{b['id']}", a["token"])


def _group_create(client, users):
    a, b, c = users
    befriend(client, a, b)
    fields = {"name": "stamps", "info": "we love stamps", "avatar": "https://x/a.png", "select_user": [b["id"]]}
    return lambda: post_form(client, "/groups/store", fields, a["token"])


def _group_join(client, users):
    a, b, c = users
    group = make_group(client, a, [])
    return lambda: post_form(client, f"/groups/applyJoin/{group['id']}", {}, c["token"])


def _group_leave(client, users):
    a, b, c = users
    befriend(client, a, b)
    group = make_group(client, a, [b])
    return lambda: delete(client, f"/groups/{group['id']}", a["token"])


def _group_remove(client, users):
    a, b, c = users
    befriend(client, a, b)
    group = make_group(client, a, [b])
    return lambda: post_form(client, "/groups/createOrRemoveUser",
                             {"group_id": group["id"], "type": 2, "select_user": [b["id"]]}, a["token"])


def _group_add(client, users):
    a, b, c = users
    befriend(client, a, b)
    group = make_group(client, a, [])
    return lambda: post_form(client, "/groups/createOrRemoveUser",
                             {"group_id": group["id"], "type": 1, "select_user": [b["id"]]}, a["token"])


def _group_send(client, users):
    a, b, c = users
    group = make_group(client, a, [])
    return lambda: post_form(client, "/messages/group", {"msg_client_id": 77, "to_id": group["id"], "msg_type": 1,
                                                         "message": "hello", "channel_type": 2}, a["token"])


def _private_send(client, users):
    a, b, c = users
    befriend(client, a, b)
    return lambda: post_form(client, "/messages/private", {"msg_client_id": 78, "to_id": b["id"], "msg_type": 1,
                                                           "message": "hello", "channel_type": 1}, a["token"])


def _registration(client, users):
    email, name = random_email(), random_name()
    assert post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1}).json_body["code"] == 200
    from tests.support.factories import last_code_for

    code = last_code_for(email)
    return lambda: post_form(client, "/auth/registered", {"email": email, "name": name, "password": "secret123",
                                                           "password_repeat": "secret123", "code": code})


def _email_code(client, users):
    email = random_email()
    return lambda: post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})


def _session_change(client, users):
    a, b, _ = users
    befriend(client, a, b)
    from tests.support.factories import get

    session = get(client, "/sessions", a["token"]).json_body["data"][0]["id"]
    return lambda: post_form(client, f"/sessions/{session}", {"top_status": 1}, a["token"], method="put")


def _session_delete(client, users):
    a, b, _ = users
    befriend(client, a, b)
    from tests.support.factories import delete, get

    session = get(client, "/sessions", a["token"]).json_body["data"][0]["id"]
    return lambda: delete(client, f"/sessions/{session}", a["token"])


def _server_create(client, users):
    a, _, _ = users
    return lambda: post_form(client, "/server_groups/createServer", {"name": "club"}, a["token"])


def _server_remove(client, users):
    a, _, _ = users
    created = post_form(client, "/server_groups/createServer", {"name": "club"}, a["token"]).json_body
    server_id = created["data"]["serverId"]
    return lambda: post_form(client, "/server_groups/removeServer", {"serverId": server_id}, a["token"])


def _invite_create(client, users):
    a, _, _ = users
    group = make_group(client, a, [])
    return lambda: post_form(client, f"/invite/{group['id']}", {}, a["token"])


def _invite_revoke(client, users):
    a, _, _ = users
    group = make_group(client, a, [])
    token = post_form(client, f"/invite/{group['id']}", {}, a["token"]).json_body["data"]["token"]
    return lambda: delete(client, f"/invite/{token}", a["token"])


def _block(client, users):
    a, b, _ = users
    return lambda: post_form(client, "/friends/block", {"user_id": b["id"]}, a["token"])


def _unblock(client, users):
    a, b, _ = users
    assert post_form(client, "/friends/block", {"user_id": b["id"]}, a["token"]).json_body["code"] == 200
    return lambda: delete(client, f"/friends/block/{b['id']}", a["token"])


def _on_a_sent_message(path: str, by_recipient: bool = False, **fields: Any) -> Callable[..., Callable[[], Any]]:
    """A path acting on a message a sent to b, its friend: by a (its sender) or by b (`by_recipient`)."""
    def build(client, users):
        a, b, _ = users
        befriend(client, a, b)
        sent = post_form(client, "/messages/private", {"msg_client_id": 3, "to_id": b["id"], "msg_type": 1,
                                                       "message": "helo"}, a["token"]).json_body["data"]
        actor, peer = (b, a) if by_recipient else (a, b)
        return lambda: post_form(client, path, {"to_id": peer["id"], "id": sent["id"], **fields}, actor["token"])

    return build


def _read_receipts_setting(client, users):
    a, _, _ = users
    return lambda: post_form(client, "/user", {"read_receipts": 0}, a["token"], method="put")


def _request_delete(client, users):
    a, b, _ = users
    record = request_id(client, a, b)
    return lambda: delete(client, f"/friends/record/{record}", a["token"])


def _group_mute(client, users):
    a, b, _ = users
    befriend(client, a, b)
    group = make_group(client, a, [b])
    return lambda: post_form(client, f"/groups/{group['id']}/mute", {"user_id": b["id"], "seconds": 600},
                             a["token"])


def _server_update(client, users):
    a, _, _ = users
    created = post_form(client, "/server_groups/createServer", {"name": "club"}, a["token"]).json_body
    return lambda: post_form(client, "/server_groups/updateServer",
                             {"serverId": created["data"]["serverId"], "name": "stamp club"}, a["token"])


def _session_open(client, users):
    a, _, c = users
    return lambda: post_form(client, "/sessions", {"id": c["id"], "type": 1}, a["token"])


def _logout(client, users):
    a, _, _ = users
    return lambda: post_form(client, "/auth/logout", {"all_devices": 1}, a["token"])


PATHS: dict[str, Callable[..., Callable[[], Any]]] = {
    "friend request": _friend_request, "friend accept": _friend_accept, "friend reject": _friend_reject,
    "friend delete": _friend_delete, "group create": _group_create, "group join": _group_join,
    "group leave": _group_leave, "group remove": _group_remove, "group add": _group_add,
    "group send": _group_send, "private send": _private_send, "registration": _registration,
    "email code": _email_code, "session change": _session_change, "session delete": _session_delete,
    "server create": _server_create, "server remove": _server_remove, "invite create": _invite_create,
    "invite revoke": _invite_revoke, "block": _block, "unblock": _unblock,
    "edit": _on_a_sent_message("/messages/edit", content="hello"), "pin": _on_a_sent_message("/messages/pin"),
    "react": _on_a_sent_message("/messages/react", by_recipient=True, emoji="👍"),
    "recall": _on_a_sent_message("/messages/recall"), "read receipts setting": _read_receipts_setting,
    "request delete": _request_delete, "group mute": _group_mute, "server update": _server_update,
    "session open": _session_open, "logout": _logout,
}


@pytest.fixture
def users(client):
    return register(client), register(client), register(client)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_conflict_once_is_retried_to_success(client, users, dynamodb_conflicts, path):
    call = PATHS[path](client, users)
    dynamodb_conflicts.pending = 1
    answer = call()
    assert dynamodb_conflicts.pending == 0, "the path made no transactional or conditional write"
    assert answer.status_code == 200 and answer.json_body["code"] == 200, answer.json_body


@pytest.mark.parametrize("path", sorted(PATHS))
def test_conflicts_every_time_answer_503_and_write_nothing(client, users, dynamodb_conflicts, path):
    call = PATHS[path](client, users)
    before = table_items()
    dynamodb_conflicts.rate = 1.0
    answer = call()
    assert answer.status_code == 503, answer.json_body
    assert answer.json_body["code"] == 503 and answer.headers["Retry-After"] == "1"
    dynamodb_conflicts.rate = 0.0
    assert table_items() == before


def test_group_send_by_a_non_member_is_refused_even_under_conflicts(client, users, dynamodb_conflicts):
    a, b, _ = users
    group = make_group(client, a, [])
    dynamodb_conflicts.pending = 3
    assert group_send(client, b, group["id"], "hi", path="/messages/group")["code"] == 1003


@pytest.mark.usefixtures("aws")
def test_counters_connections_and_pending_retry_their_own_writes(dynamodb_conflicts):
    dynamodb_conflicts.every_write = True
    dynamodb_conflicts.pending = 1
    first = counters.next_value("conflict-test")
    dynamodb_conflicts.pending = 1
    assert counters.next_value("conflict-test") == first + 1
    dynamodb_conflicts.pending = 1
    connections.add("c-1", 5, 1000.0, 60, connections.Presented("test", 0), 20)
    dynamodb_conflicts.pending = 1
    assert connections.take_frame("c-1", buckets.Bucket(30, 10_000), 1000.0) == 5
    dynamodb_conflicts.pending = 1
    assert connections.remove("c-1") is not None
    pending.store([(5, "000000001000000#1", "{}")], 1_000_000)
    dynamodb_conflicts.pending = 1
    pending.mark([5], 1000.0)
    dynamodb_conflicts.pending = 1
    assert pending.hold(5, "replayer", 1000.0) is not None
    dynamodb_conflicts.pending = 1
    pending.release(5, "replayer")
    dynamodb_conflicts.pending = 1
    assert pending.hold(5, "replayer", 1000.0) is not None
    dynamodb_conflicts.rate = 1.0
    with pytest.raises(aws.Busy):
        counters.next_value("conflict-test")


def test_conflict_is_recognised_through_pynamodb_wrapping():
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import PutError, TransactWriteError

    cause = ClientError({"Error": {"Code": "TransactionConflictException"}}, "PutItem")
    assert aws.is_conflict(PutError("failed", cause=cause)) and aws.is_busy(PutError("failed", cause=cause))
    from pynamodb.connection.base import VerboseClientError
    from pynamodb.exceptions import CancellationReason

    cancelled = VerboseClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems", {},
                                   cancellation_reasons=[None, CancellationReason(code="TransactionConflict")])
    assert aws.is_conflict(TransactWriteError("failed", cause=cancelled))
    refused = VerboseClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems", {},
                                 cancellation_reasons=[CancellationReason(code="ConditionalCheckFailed")])
    assert not aws.is_conflict(TransactWriteError("failed", cause=refused))


def test_retrying_gives_up_with_busy_and_never_retries_other_errors():
    calls = []

    @conflicts.retrying(3)
    def lost() -> None:
        calls.append(1)
        raise conflicts.LostRace("again")

    with pytest.raises(aws.Busy):
        lost()
    assert len(calls) == 3

    @conflicts.retrying(3)
    def broken() -> None:
        calls.append(2)
        raise ValueError("not a race")

    with pytest.raises(ValueError):
        broken()
    assert calls.count(2) == 1

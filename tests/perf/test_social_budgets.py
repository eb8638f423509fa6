"""Social reads: 1 Query + ⌈keys/100⌉ BatchGetItem, and items read independent of table size (P1, P3)."""
from __future__ import annotations

import time

from chalicelib.db import keys
from chalicelib.db.models import Friendship
from tests.support import seeding
from tests.support.factories import befriend, check_token_once, get, post_form, register

ROUTES = ("/friends", "/sessions", "/friends/record")


def seed_unrelated(count: int) -> None:
    """Other people's friendships: the data a request must never read."""
    now = time.time()
    seeding.store(Friendship(keys.user_pk(100_000 + index), keys.friend_sk(200_000 + index), row_id=index,
                             form_id=100_000 + index, to_id=200_000 + index, created_at=now, top_time=now)
                  for index in range(count))


def measure(client, token, aws_calls, path):
    aws_calls.reset()
    assert get(client, path, token).json_body["code"] == 200
    return dict(aws_calls.calls), aws_calls.scanned


def test_list_reads_are_flat_as_the_table_grows(client, aws_calls):
    me = register(client)
    for _ in range(3):
        befriend(client, me, register(client))
    small = {path: measure(client, me["token"], aws_calls, path) for path in ROUTES}
    seed_unrelated(10_000)
    large = {path: measure(client, me["token"], aws_calls, path) for path in ROUTES}
    assert small == large
    assert small["/friends"][0] == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
    assert small["/friends/record"][0] == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
    # sessions: one batch for the peers' profiles and one for the conversation heads (2N keys)
    assert small["/sessions"][0] == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 2}


def test_accept_is_one_transaction_plus_reads_and_pushes(client, aws_calls):
    a, b = register(client), register(client)
    record_id = post_form(client, "/friends/record", {"to_id": b["id"], "information": "hi"}, a["token"]
                          ).json_body["data"]["id"]
    aws_calls.reset()
    post_form(client, "/friends/record", {"id": record_id, "status": 1}, b["token"], method="put")
    writes = {name: n for name, n in aws_calls.calls.items()
              if name.split(".")[1] in {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"}}
    assert writes == {"dynamodb.TransactWriteItems": 1}, dict(aws_calls.calls)
    assert not any(name.endswith(".Scan") for name in aws_calls.calls)


def test_opening_a_session_reads_profile_friendship_and_head_in_one_batch(client, aws_calls):
    """POST /sessions: one BatchGetItem for the peer's profile, the friendship (for the email) and the conversation
    head; one for an existing session; the session id's counter; the conditional create."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    stranger = register(client)
    aws_calls.reset()
    opened = post_form(client, "/sessions", {"id": stranger["id"], "type": 1}, a["token"]).json_body
    assert opened["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 1,
                                     "dynamodb.TransactWriteItems": 1}


def test_block_unblock_and_the_blocked_list_cost(client, aws_calls):
    """Block: the target's profile, the blocker's quota, one transaction (the Block item and the pair's head).
    Unblock: one transaction (no quota: it undoes a block that took one). The list: one Query and one BatchGetItem
    of profiles per 100. A private send the block refuses reads what every send reads (one BatchGetItem) and writes
    nothing."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    aws_calls.reset()
    assert post_form(client, "/friends/block", {"user_id": b["id"]}, a["token"]).json_body["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 1,
                                     "dynamodb.TransactWriteItems": 1}
    aws_calls.reset()
    assert get(client, "/friends/blocked", a["token"]).json_body["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
    aws_calls.reset()
    refused = post_form(client, "/messages/private", {"msg_client_id": 7, "to_id": a["id"], "msg_type": 1,
                                                      "message": "hi"}, b["token"]).json_body
    assert refused["code"] == 1003
    assert dict(aws_calls.calls) == {"dynamodb.BatchGetItem": 1}
    aws_calls.reset()
    assert client.http.delete(f"/friends/block/{b['id']}",
                              headers={"authorization": f"Bearer {a['token']}"}).json_body["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.TransactWriteItems": 1}


def test_user_query_hides_friends_and_blockers_in_one_batch(client, aws_calls):
    """A name search: the quota, one GSI Query of candidates, one BatchGetItem telling friends and blockers (2
    keys a candidate), one BatchGetItem of the profiles shown."""
    me = register(client)
    blocker = register(client, name=f"zz{me['name'][:8]}a")
    register(client, name=f"zz{me['name'][:8]}b")
    assert post_form(client, "/friends/block", {"user_id": me["id"]}, blocker["token"]).json_body["code"] == 200
    check_token_once(client, me["token"])
    aws_calls.reset()
    found = get(client, "/friends/userQuery", me["token"], name=f"zz{me['name'][:8]}").json_body["data"]
    assert [row["name"] for row in found] == [f"zz{me['name'][:8]}b"]
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 1, "dynamodb.Query": 1, "dynamodb.BatchGetItem": 2}

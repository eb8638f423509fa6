"""Blocking: private sends and friend requests refused (1003, saying so), hidden from userQuery, the list, bad
inputs, and a block racing an in-flight send."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import botocore.client
import pytest

from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from chalicelib.db.models import Conversation
from tests.api.test_conflicts import table_items
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, delete, get, online, post_form, register

BOT = 1


def block(client, me, user_id):
    return post_form(client, "/friends/block", {"user_id": user_id}, me["token"]).json_body


def unblock(client, me, user_id):
    return delete(client, f"/friends/block/{user_id}", me["token"]).json_body


def send(client, me, to_id, text="hello"):
    fields = {"msg_client_id": time.time_ns() // 1000 % 10**15, "to_id": to_id, "msg_type": 1, "message": text,
              "channel_type": 1}
    return post_form(client, "/messages/private", fields, me["token"]).json_body


def stored(a, b):
    return [m.content for m in messages_db.history(keys.private_conversation(a["id"], b["id"]), None, 1000)]


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def test_a_blocked_friend_cannot_send_me_private_messages_and_nothing_is_stored(client, sender, pair):
    a, b = pair
    online(a["id"], "a-socket")
    assert send(client, b, a["id"], "before")["code"] == 200
    blocked = block(client, a, b["id"])
    assert blocked == {"code": 200, "message": "Success",
                       "data": {"id": b["id"], "name": b["name"], "avatar": b["avatar"], "blocked": 1}}
    frames_before = len(sender.frames_for("a-socket"))
    refused = send(client, b, a["id"], "after")
    assert refused["code"] == 1003 and "has blocked you" in refused["message"] and refused["data"] == {}
    assert stored(a, b) == ["before"]
    assert len(sender.frames_for("a-socket")) == frames_before  # no frame, and the block itself was not announced
    # not unfriended; the blocker may still write to them
    assert [f["Users"]["id"] for f in get(client, "/friends", a["token"]).json_body["data"]] == [b["id"]]
    assert send(client, a, b["id"], "from the blocker")["code"] == 200
    assert unblock(client, a, b["id"]) == {"code": 200, "message": "Success", "data": {"id": b["id"], "blocked": 0}}
    assert send(client, b, a["id"], "again")["code"] == 200
    assert stored(a, b) == ["again", "from the blocker", "before"]


def test_blocking_twice_is_one_block_and_the_list_shows_it_newest_first(client, pair):
    a, b = pair
    c = register(client)
    assert get(client, "/friends/blocked", a["token"]).json_body["data"] == []
    assert block(client, a, b["id"])["code"] == 200
    assert block(client, a, b["id"])["code"] == 200
    assert block(client, a, c["id"])["code"] == 200
    listed = get(client, "/friends/blocked", a["token"]).json_body["data"]
    assert [(row["id"], row["name"], row["avatar"]) for row in listed] == [(c["id"], c["name"], c["avatar"]),
                                                                          (b["id"], b["name"], b["avatar"])]
    assert all(len(row["created_at"]) == 19 for row in listed)
    assert get(client, "/friends/blocked", b["token"]).json_body["data"] == []  # mine only
    assert unblock(client, a, c["id"])["code"] == 200
    assert [row["id"] for row in get(client, "/friends/blocked", a["token"]).json_body["data"]] == [b["id"]]


def test_a_block_before_the_pair_ever_spoke_holds_and_lifts(client):
    """The block makes the pair's head at sequence 0; their first message after the unblock is still message 1."""
    a, b = register(client), register(client)
    assert block(client, a, b["id"])["code"] == 200
    asked = post_form(client, "/friends/record", {"to_id": a["id"], "information": "hi"}, b["token"]).json_body
    assert asked["code"] == 1003 and "has blocked you" in asked["message"]
    assert get(client, "/friends/record", a["token"]).json_body["data"] == []
    # the blocker may ask them; once friends, the block still refuses their messages
    befriend(client, a, b)
    assert send(client, b, a["id"])["code"] == 1003
    sessions = get(client, "/sessions", a["token"]).json_body["data"]
    session = next(s for s in sessions if s["to_id"] == b["id"])
    assert (session["last_seq"], session["unread"], session["last_message"]["content"]) == (0, 0, "")
    assert unblock(client, a, b["id"])["code"] == 200
    sent = send(client, b, a["id"], "first")
    assert sent["code"] == 200 and sent["data"]["id"] == 1


def test_a_blocked_user_does_not_find_me_in_user_query(client):
    a, b, c = register(client), register(client), register(client)
    assert block(client, a, b["id"])["code"] == 200
    for query in ({"email": a["email"]}, {"name": a["name"][:6]}):
        found_by_b = get(client, "/friends/userQuery", b["token"], **query).json_body
        assert found_by_b["code"] == 200 and a["id"] not in [row["id"] for row in found_by_b["data"]]
        found_by_c = get(client, "/friends/userQuery", c["token"], **query).json_body["data"]
        assert a["id"] in [row["id"] for row in found_by_c]
    # the blocker still finds them
    assert [row["id"] for row in get(client, "/friends/userQuery", a["token"], email=b["email"]).json_body["data"]
            ] == [b["id"]]


def test_in_shared_groups_their_messages_still_arrive(client, sender, pair):
    a, b = pair
    group = make_group(client, a, [b])
    assert block(client, a, b["id"])["code"] == 200
    assert group_send(client, b, group["id"], "hello group")["code"] == 200


@pytest.mark.parametrize("fields, message", [
    ({}, "user_id"), ({"user_id": "abc"}, "user_id"), ({"user_id": 0}, "user_id"), ({"user_id": "1x"}, "user_id"),
    ({"user_id": BOT}, "the bot cannot be blocked"), ({"user_id": 10**9}, "user does not exist"),
])
def test_bad_blocks_are_1000_and_change_nothing(client, fields, message):
    a = register(client)
    before = table_items()
    answer = post_form(client, "/friends/block", fields, a["token"]).json_body
    assert answer["code"] == 1000 and message in answer["message"], answer
    assert {key: item for key, item in table_items().items() if not key[0].startswith("LIMIT#")} == {
        key: item for key, item in before.items() if not key[0].startswith("LIMIT#")}


def test_blocking_yourself_or_unblocking_nobody_is_1000(client):
    a, b = register(client), register(client)
    assert block(client, a, a["id"])["message"] == "you cannot block yourself"
    assert unblock(client, a, b["id"]) == {"code": 1000, "message": "you have not blocked this user", "data": {}}
    assert unblock(client, a, BOT)["code"] == 1000
    assert unblock(client, a, "abc")["code"] == 1000
    assert get(client, "/friends/blocked", a["token"]).json_body["data"] == []


def test_only_the_blocker_can_unblock(client, pair):
    a, b = pair
    assert block(client, a, b["id"])["code"] == 200
    assert unblock(client, b, a["id"])["code"] == 1000
    assert send(client, b, a["id"])["code"] == 1003


def _holding_the_head_write(monkeypatch, reached: threading.Event, release: threading.Event):
    """Holds the first send's write of a conversation head (an UpdateItem marking it `fresh`) until `release`."""
    original = botocore.client.BaseClient._make_api_call
    held = []

    def make_api_call(self, operation_name, api_params):
        if operation_name == "UpdateItem" and not held and api_params["Key"]["PK"]["S"].startswith("CONV#") \
                and "fresh" in json.dumps(api_params.get("ExpressionAttributeNames", {})):
            held.append(True)
            reached.set()
            assert release.wait(10)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)


def test_a_block_committed_during_a_send_refuses_it(client, pair, monkeypatch):
    """The send read the head before the block; its head write is conditioned on the head not naming the sender's
    blocker, so it fails and answers 1003: no message is stored after a block committed."""
    a, b = pair
    reached, release = threading.Event(), threading.Event()
    _holding_the_head_write(monkeypatch, reached, release)
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(send, client, b, a["id"], "in flight")
        assert reached.wait(10)
        assert block(client, a, b["id"])["code"] == 200
        release.set()
        answer = sending.result(10)
    assert answer["code"] == 1003 and "has blocked you" in answer["message"]
    assert stored(a, b) == []


def test_a_send_committed_before_the_block_stays(client, pair, monkeypatch):
    a, b = pair
    done = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(lambda: (send(client, b, a["id"], "first"), done.set())[0])
        assert done.wait(10)
        assert block(client, a, b["id"])["code"] == 200
        assert sending.result(10)["code"] == 200
    assert stored(a, b) == ["first"]
    assert send(client, b, a["id"])["code"] == 1003
    head = Conversation.get(keys.private_conversation(a["id"], b["id"]), keys.CONVERSATION_META_SK)
    assert set(head.blocked_by) == {a["id"]} and int(head.last_seq) == 1


def test_block_and_unblock_retry_conflicts(client, pair, dynamodb_conflicts):
    a, b = pair
    dynamodb_conflicts.pending = 1
    assert block(client, a, b["id"])["code"] == 200
    dynamodb_conflicts.pending = 1
    assert unblock(client, a, b["id"])["code"] == 200
    assert send(client, b, a["id"])["code"] == 200

"""Per-account quotas on every paid action (README *Limits*): a parallel burst of one account gets exactly the
limit through, the refusal is an envelope the web client shows (HTTP 200, code 429, Retry-After, the wait in
words) and stores nothing, other accounts are unaffected, and a person's pace never meets the defaults."""
from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.config import Quota, load_settings, reset_caches
from chalicelib.db import buckets, keys
from chalicelib.db import messages as messages_db
from chalicelib.errors import RateLimited
from chalicelib.security import limits
from chalicelib.services import friends as friends_service
from chalicelib.services import groups as groups_service
from chalicelib.services import messages as messages_service
from chalicelib.services import server_groups as server_service
from chalicelib.services import uploads as uploads_service
from chalicelib.ws import handlers
from tests.support.factories import befriend, get, post_form, register, ws_event
from tests.support.upload_samples import png

client_ids = itertools.count(time.time_ns() // 1000 % 10**14)
GROUP = {"name": "stamps", "info": "we love stamps", "avatar": "https://x/a.png"}


@pytest.fixture
def quotas(monkeypatch):
    """Small groups and messages, so that the least capacity the settings accept is small too."""
    def set_quotas(**values: str) -> None:
        monkeypatch.setenv("GROUP_SIZE_LIMIT", "3")
        monkeypatch.setenv("MESSAGE_MAX_CHARS", "600")
        for name, value in values.items():
            monkeypatch.setenv(f"QUOTA_{name.upper()}", value)
        reset_caches()
    yield set_quotas
    reset_caches()


def burst(action, count: int) -> list[str]:
    """`count` calls at once from threads: "ok" or the refusal's class name."""
    def attempt(index: int) -> str:
        try:
            action(index)
            return "ok"
        except RateLimited as refused:
            assert refused.retry_after >= 1 and "please try again in" in refused.message
            return "RateLimited"
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(attempt, range(count)))


def private_send(client, sender: dict[str, Any], to: dict[str, Any], text: str = "hi") -> dict[str, Any]:
    return post_form(client, "/messages/private", {"msg_client_id": next(client_ids), "to_id": to["id"],
                                                   "msg_type": 1, "message": text}, sender["token"]).json_body


def stored_count(a: dict[str, Any], b: dict[str, Any]) -> int:
    return len(messages_db.history(keys.private_conversation(a["id"], b["id"]), None, 100, 0))


def test_a_parallel_burst_of_private_sends_gets_exactly_the_quota(client, quotas):
    quotas(messages="36/1")  # a private message of ≤ 1 KiB is 10 + 1 × (1 + 1) = 12 units: three of them
    me, friend, other = register(client), register(client), register(client)
    befriend(client, me, friend)
    befriend(client, other, friend)
    outcomes = burst(lambda _: messages_service.send(me["id"], to_id=friend["id"], channel_type=1, msg_type=1,
                                                     message="hello", data=None, msg_client_id=next(client_ids)), 8)
    assert outcomes.count("ok") == 3 and outcomes.count("RateLimited") == 5
    assert stored_count(me, friend) == 3  # nothing stored for a refused send
    refused = post_form(client, "/messages/private", {"msg_client_id": next(client_ids), "to_id": friend["id"],
                                                      "msg_type": 1, "message": "more"}, me["token"])
    assert refused.status_code == 200 and refused.json_body["code"] == 429
    assert refused.json_body["message"].startswith("too many messages; please try again in ")
    assert int(refused.headers["Retry-After"]) >= 3600
    assert private_send(client, other, friend)["code"] == 200  # another account is not affected


def test_a_retried_send_takes_nothing_more(client, quotas):
    quotas(messages="24/1")
    me, friend = register(client), register(client)
    befriend(client, me, friend)
    fields = {"msg_client_id": next(client_ids), "to_id": friend["id"], "msg_type": 1, "message": "once"}
    for _ in range(3):
        assert post_form(client, "/messages/private", fields, me["token"]).json_body["code"] == 200
    assert private_send(client, me, friend)["code"] == 200  # the second 12 units were still there
    assert private_send(client, me, friend)["code"] == 429


def test_a_group_send_costs_its_recipients_and_its_size(client, quotas):
    quotas(messages="70/1")
    owner, a, b = register(client), register(client), register(client)
    befriend(client, owner, a)
    befriend(client, owner, b)
    group = post_form(client, "/groups/store", {**GROUP, "select_user": [a["id"], b["id"]]},
                      owner["token"]).json_body
    assert group["code"] == 200  # a new group of 3: 10 + 1 × (1 + 3 × 3) = 20 units; 50 left
    send = {"to_id": group["data"]["id"], "msg_type": 1, "channel_type": 2}

    def group_send(text: str) -> dict[str, Any]:
        return post_form(client, "/messages/private", {**send, "message": text, "msg_client_id": next(client_ids)},
                         owner["token"]).json_body

    assert group_send("邮" * 400)["code"] == 200  # 1200 bytes, 2 KiB, to 3 members: 10 + 2 × (1 + 3) = 18; 32 left
    assert group_send("short")["code"] == 200  # 10 + 1 × 4 = 14; 18 left
    assert group_send("short")["code"] == 200  # 4 left
    assert group_send("short")["code"] == 429
    assert post_form(client, "/messages/private", {**send, "message": "hi", "msg_client_id": next(client_ids)},
                     a["token"]).json_body["code"] == 200  # a member's own quota


def test_recalls_and_call_signals_take_from_the_same_quota(client, quotas, sender):
    from tests.support.factories import online

    quotas(messages="48/1")
    me, friend = register(client), register(client)
    befriend(client, me, friend)
    online(friend["id"], "friend-socket")
    sent = private_send(client, me, friend)  # 12
    assert post_form(client, "/messages/recall", {"to_id": friend["id"], "id": sent["data"]["id"]},
                     me["token"]).json_body["code"] == 200  # 12
    call = {"to_id": friend["id"], "type": "invite", "data": "sdp"}
    assert post_form(client, "/messages/video", call, me["token"]).json_body["code"] == 200  # 12
    assert private_send(client, me, friend)["code"] == 200  # 12: none left
    refused = post_form(client, "/messages/video", call, me["token"]).json_body
    assert refused["code"] == 429 and refused["message"].startswith("too many call signals")


def test_uploads_count_files_and_bytes_presigned_included(client, quotas):
    quotas(uploads="103/1")  # at least 1 + the largest presigned file (100 MiB)
    me, other = register(client), register(client)
    image = png()
    outcomes = burst(lambda i: uploads_service.upload(me["id"], f"a{i}.png", "image/png", image, "http://x"), 60)
    assert outcomes.count("ok") == 51  # each 2 units (1 + 1 MiB rounded up); 1 left
    with pytest.raises(RateLimited):
        uploads_service.presign(me["id"], "big.png", 1, "image/png", "http://x")
    assert uploads_service.presign(other["id"], "big.png", 100 * 1024 * 1024, "image/png", "http://x")
    with pytest.raises(RateLimited):  # the 100 MiB took 101 units of the other's 103
        uploads_service.presign(other["id"], "more.png", 2 * 1024 * 1024, "image/png", "http://x")


def test_friend_requests_are_counted_and_answering_one_is_free(client, quotas):
    quotas(friend_requests="3/1")
    me, *strangers = (register(client) for _ in range(7))
    outcomes = burst(lambda i: friends_service.send_request(me["id"], strangers[i]["id"], "hi"), 6)
    assert outcomes.count("ok") == 3
    assert len(friends_service.list_requests(me["id"])) == 3  # nothing stored for a refused request
    asker = register(client)
    assert post_form(client, "/friends/record", {"to_id": me["id"], "information": "hi"},
                     asker["token"]).json_body["code"] == 200
    # asking someone who asked me accepts their request: no quota
    assert post_form(client, "/friends/record", {"to_id": asker["id"], "information": "ok"},
                     me["token"]).json_body["code"] == 200


def test_server_groups_and_invites_share_the_creations_quota(client, quotas):
    quotas(creations="4/1")
    me, friend = register(client), register(client)
    befriend(client, me, friend)
    group = post_form(client, "/groups/store", {**GROUP, "select_user": [friend["id"]]}, me["token"]).json_body
    group_id = group["data"]["id"]  # a new group counts as messages to its members (the next test)
    assert groups_service.create_invite(me["id"], group_id, expire_seconds=None, max_uses=None)["token"]
    outcomes = burst(lambda i: server_service.create_server(me["id"], f"server {i}"), 6)
    assert outcomes.count("ok") == 3  # three servers after the invite: none left
    refused = post_form(client, f"/invite/{group_id}", {}, me["token"]).json_body
    assert refused["code"] == 429 and refused["message"].startswith("too many invites and groups created")


def test_user_searches_are_a_quota_too(client, quotas):
    quotas(user_searches="3/1")
    me = register(client)
    outcomes = burst(lambda i: friends_service.search_users(me["id"], f"zz{i}"), 6)
    assert outcomes.count("ok") == 3
    assert get(client, "/friends/userQuery", me["token"], name="zz").json_body["code"] == 429


def heartbeat(connection_id: str) -> None:
    handlers.message(ws_event("$default", connection_id, body='{"msg_code":1004}'))


def test_a_flooding_connection_is_closed_with_a_clear_frame(client, quotas, sender):
    quotas(ws_frames="3/1")
    user = register(client)
    for connection_id in ("flood", "calm"):
        assert handlers.connect(ws_event("$connect", connection_id, query={"token": user["token"]}))[
            "statusCode"] == 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: heartbeat("flood"), range(10)))
    assert sender.closed == ["flood"]  # the first refused frame closed it; the gateway is gone for the rest
    frame = sender.frames_for("flood")[0]
    assert frame["msg_code"] == 2006 and "sent frames faster than allowed" in frame["message"]
    heartbeat("calm")  # the account's other connection keeps its own bucket
    assert "calm" not in sender.closed


def test_new_connections_of_an_account_are_counted(client, quotas):
    quotas(connects="2/1")
    user, other = register(client), register(client)

    def connect(token: str, connection_id: str) -> int:
        return handlers.connect(ws_event("$connect", connection_id, query={"token": token}))["statusCode"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda i: connect(user["token"], f"n{i}"), range(5)))
    assert sorted(statuses) == [200, 200, 429, 429, 429]
    assert connect(other["token"], "o1") == 200


def test_a_person_never_meets_the_defaults(aws):
    """A heavy day of one person, at the defaults: a busy hour of 300 private messages, 60 messages to a
    500-member group through the day, 200 heartbeats an hour on each of 10 sockets, 30 reconnects, 30 photos of
    4 MB and two 100 MB videos, 30 friend requests, 20 searches in a row, 10 new groups of 50 and 10 invites."""
    now = [1_800_000_000.0]
    settings = load_settings({"TABLE_NAME": "t"})
    assert settings.quotas["messages"] == Quota(20_000, 40_000)

    def spend(quota: str, units: int, times: int, every_seconds: float, subject: str = "person") -> None:
        bucket = buckets.Bucket(settings.quotas[quota].capacity, settings.quotas[quota].per_day)
        for _ in range(times):
            buckets.spend(quota, subject, bucket, units, now[0])
            now[0] += every_seconds

    spend("messages", limits.message_units(1, "a line of chat"), 300, 12)  # one message every 12 s for an hour
    spend("messages", limits.message_units(500, "a line to the big group"), 60, 600)  # 10 hours
    spend("messages", limits.message_units(3 * 50), 10, 60)
    spend("uploads", limits.upload_units(4 * 1024 * 1024), 30, 60)
    spend("uploads", limits.upload_units(100 * 1024 * 1024), 2, 60)
    spend("friend_requests", 1, 30, 10)
    spend("creations", 1, 10, 10)
    spend("user_searches", 1, 20, 1)
    spend("connects", 1, 30, 60)
    for socket in range(10):
        spend("ws_frames", 1, 200, 10, subject=f"socket{socket}")  # the client's heartbeat, every 10 s

"""Typing notices (`msg_code 1010`) over the socket: relayed live, paced, friends and members only."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock
from chalicelib.config import reset_caches
from chalicelib.db import groups as groups_db
from chalicelib.db import pending
from chalicelib.db.groups import MEMBER, OWNER, GroupRecord, NewMember
from chalicelib.ws import handlers
from tests.api.test_groups import make_group
from tests.support.factories import befriend, online, register, ws_event


def typing(connection_id, **fields):
    body = json.dumps({"msg_code": 1010, **fields})
    assert handlers.message(ws_event("$default", connection_id, body=body)) == {"statusCode": 200}


def typing_frames(sender, connection_id):
    return [frame for frame in sender.frames_for(connection_id) if frame["msg_code"] == 1010]


@pytest.fixture
def frozen(monkeypatch):
    """The clock the pacing reads, moved by hand (no wall-clock waits)."""
    now = [clock.now()]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def test_a_friend_typing_reaches_my_sockets_only_and_nothing_is_kept_or_stored(client, sender, pair, frozen):
    a, b = pair
    for user, connection in ((a, "a1"), (a, "a2"), (b, "b1"), (b, "b2")):
        online(user["id"], connection)
    typing("a1", to_id=b["id"], channel_type=1)
    expected = {"msg_code": 1010, "form_id": a["id"], "to_id": b["id"], "channel_type": 1,
                "users": {"id": a["id"], "name": a["name"]}}
    assert typing_frames(sender, "b1") == typing_frames(sender, "b2") == [expected]
    assert sender.frames_for("a1") == sender.frames_for("a2") == []  # never to the sender, nor its other sockets
    c = register(client)
    befriend(client, a, c)
    kept_before = len(pending.list_for(c["id"], clock.now()))
    online(a["id"], "a3")
    frozen[0] += 1
    typing("a3", to_id=c["id"], channel_type=1)  # c is offline: nothing is kept for it
    assert len(pending.list_for(c["id"], clock.now())) == kept_before


def test_one_relay_per_user_and_conversation_per_three_seconds(client, sender, pair, frozen):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    typing("a1", to_id=b["id"], channel_type=1)
    frozen[0] += 2.5
    typing("a1", to_id=b["id"], channel_type=1)
    assert len(typing_frames(sender, "b1")) == 1
    assert sender.frames_for("a1") == []  # paced quietly: no error frame
    typing("b1", to_id=a["id"], channel_type=1)  # the other user of the conversation has their own pace
    assert len(typing_frames(sender, "a1")) == 1
    frozen[0] += 0.5
    typing("a1", to_id=b["id"], channel_type=1)
    assert len(typing_frames(sender, "b1")) == 2


def test_a_parallel_burst_is_relayed_once(client, sender, pair, frozen):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: typing("a1", to_id=b["id"], channel_type=1), range(8)))
    assert len(typing_frames(sender, "b1")) == 1


def test_group_members_get_it_and_large_groups_none(client, sender, frozen):
    owner, b, c = register(client), register(client), register(client)
    befriend(client, owner, b)
    befriend(client, owner, c)
    group = make_group(client, owner, [b, c])
    for user, connection in ((owner, "o1"), (b, "b1"), (c, "c1")):
        online(user["id"], connection)
    typing("b1", to_id=group["id"], channel_type=2)
    for connection in ("o1", "c1"):
        assert typing_frames(sender, connection) == [{"msg_code": 1010, "form_id": b["id"], "to_id": group["id"],
                                                      "channel_type": 2, "users": {"id": b["id"], "name": b["name"]}}]
    assert sender.frames_for("b1") == []
    big = GroupRecord(77_001, owner["id"], "big", "info", "", "", 0, None, 0, clock.now(), 101)
    groups_db.create(big, [NewMember(uid, OWNER if uid == owner["id"] else MEMBER, None)
                           for uid in [owner["id"], b["id"]] + [60_000 + n for n in range(99)]], clock.now(), {})
    typing("b1", to_id=big.id, channel_type=2)
    assert len(typing_frames(sender, "o1")) == 1 and sender.frames_for("b1") == []  # ignored, without an error


@pytest.mark.parametrize("fields, message", [
    ({"channel_type": 1}, "typing frame: to_id must be a positive integer"),
    ({"to_id": "2", "channel_type": 1}, "typing frame: to_id must be a positive integer"),
    ({"to_id": True, "channel_type": 1}, "typing frame: to_id must be a positive integer"),
    ({"to_id": 2}, "typing frame: channel_type must be a positive integer"),
    ({"to_id": 2, "channel_type": 3}, "typing frame: channel_type must be one of 1, 2"),
])
def test_a_bad_typing_frame_gets_the_error_frame(client, sender, pair, fields, message):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    typing("a1", **fields)
    assert sender.frames_for("a1") == [{"msg_code": 500, "message": message}]
    assert sender.frames_for("b1") == []


def test_strangers_and_non_members_get_the_error_frame(client, sender):
    a, stranger, owner = register(client), register(client), register(client)
    befriend(client, owner, a)
    group = make_group(client, owner, [a])
    online(stranger["id"], "s1")
    online(a["id"], "a1")
    online(owner["id"], "o1")
    typing("s1", to_id=a["id"], channel_type=1)
    typing("s1", to_id=group["id"], channel_type=2)
    refusal = "typing frame: you can only type to a friend or in a group you are a member of"
    assert sender.frames_for("s1") == [{"msg_code": 500, "message": refusal}] * 2
    assert sender.frames_for("a1") == sender.frames_for("o1") == []


def test_the_typing_quota_counts_recipients(client, sender, frozen, monkeypatch):
    monkeypatch.setenv("QUOTA_TYPING", "99/1")
    monkeypatch.setenv("QUOTA_WS_FRAMES", "100/1")  # the socket's own frame quota is not what this test meets
    reset_caches()
    try:
        owner, b, c = register(client), register(client), register(client)
        befriend(client, owner, b)
        befriend(client, owner, c)
        group = make_group(client, owner, [b, c])
        online(owner["id"], "o1")
        online(b["id"], "b1")
        for _ in range(49):  # two recipients a relay: 98 units
            typing("o1", to_id=group["id"], channel_type=2)
            frozen[0] += 3
        assert len(typing_frames(sender, "b1")) == 49
        typing("o1", to_id=group["id"], channel_type=2)
        (refused,) = sender.frames_for("o1")
        assert refused["msg_code"] == 500 and refused["message"].startswith("too many typing notices; please try again")
        assert len(typing_frames(sender, "b1")) == 49
    finally:
        reset_caches()

"""Read receipts: 1011 to the private peer, `is_read` in history, the `read_receipts` setting, group read counts."""
from __future__ import annotations

import itertools
import time

import pytest

from chalicelib import clock
from chalicelib.db import pending
from chalicelib.services.groups import NOT_A_MEMBER
from tests.api.test_groups import make_group
from tests.support.factories import befriend, get, online, post_form, register

client_ids = itertools.count(time.time_ns() // 1000 % 10**14)


def send(client, user, to_id, text="hello", channel_type=1):
    answer = post_form(client, "/messages/private", {"msg_client_id": next(client_ids), "to_id": to_id,
                                                     "msg_type": 1, "message": text, "channel_type": channel_type},
                       user["token"]).json_body
    assert answer["code"] == 200, answer
    return answer["data"]


def receipts_for(sender, connection_id):
    return [frame for frame in sender.frames_for(connection_id) if frame["msg_code"] == 1011]


def history(client, user, peer, **query):
    return get(client, "/messages", user["token"], to_id=peer["id"], **query).json_body["data"]["list"]


def settings(client, user, **fields):
    return post_form(client, "/user", fields, user["token"], method="put").json_body


@pytest.fixture
def frozen(monkeypatch):
    now = [clock.now()]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def test_reading_history_sends_the_peer_a_receipt_and_history_shows_is_read(client, sender, pair, frozen):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    first, second = send(client, a, b["id"], "one"), send(client, a, b["id"], "two")
    assert [item["is_read"] for item in history(client, a, b)] == [0, 0]  # b has not read them
    # a's own read position moved too, but only past a's own messages: b is told nothing
    assert receipts_for(sender, "b1") == []
    history(client, b, a)
    assert receipts_for(sender, "a1") == [{"msg_code": 1011, "to_id": a["id"], "form_id": b["id"],
                                           "channel_type": 1, "read_seq": second["id"]}]
    assert [(item["id"], item["is_read"]) for item in history(client, a, b)] == [(first["id"], 1), (second["id"], 1)]
    reply = send(client, b, a["id"], "three")
    assert [item["is_read"] for item in history(client, b, a)] == [1, 1, 0]  # a has not read b's reply yet
    frozen[0] += 1
    history(client, a, b)
    assert receipts_for(sender, "b1")[-1]["read_seq"] == reply["id"]


def three_messages_and_a_reader(client, a, b):
    """a (online on "a1") sends b three messages; returns b's `PUT /sessions/{id}` of a read position."""
    online(a["id"], "a1")
    for n in range(3):
        send(client, a, b["id"], f"m{n}")
    (session,) = [s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["to_id"] == a["id"]]

    def read_to(seq):
        assert post_form(client, f"/sessions/{session['id']}", {"read_seq": seq}, b["token"],
                         method="put").json_body == {"code": 200, "message": "Success", "data": {}}

    return read_to


def test_put_read_seq_sends_a_receipt_at_most_once_a_second_per_conversation(client, sender, pair, frozen):
    a, b = pair
    read_to = three_messages_and_a_reader(client, a, b)

    read_to(1)
    frozen[0] += 0.5
    read_to(2)
    assert [frame["read_seq"] for frame in receipts_for(sender, "a1")] == [1]
    frozen[0] += 0.5
    read_to(3)
    assert [frame["read_seq"] for frame in receipts_for(sender, "a1")] == [1, 3]
    assert [item["is_read"] for item in history(client, a, b)] == [1, 1, 1]


def test_a_read_position_never_moves_back_and_a_stale_read_sends_no_receipt(client, sender, pair, frozen):
    a, b = pair
    read_to = three_messages_and_a_reader(client, a, b)

    def stored_read_seq():
        (found,) = [s for s in get(client, "/sessions", b["token"]).json_body["data"] if s["to_id"] == a["id"]]
        return found["read_seq"], found["unread"]

    read_to(3)
    for stale in (1, 3):  # an older position, then the same one again (a stale or repeating client)
        frozen[0] += 1
        read_to(stale)
        assert stored_read_seq() == (3, 0)
    frozen[0] += 1
    assert [item["id"] for item in history(client, b, a)] == [1, 2, 3]  # the first page, already read
    frozen[0] += 1
    history(client, b, a, page=3)  # an older page
    assert stored_read_seq() == (3, 0)
    assert [frame["read_seq"] for frame in receipts_for(sender, "a1")] == [3]


def test_an_offline_peer_gets_nothing_kept(client, sender, pair):
    a, b = pair
    send(client, a, b["id"], "one")
    kept = len(pending.list_for(a["id"], clock.now()))
    history(client, b, a)
    assert len(pending.list_for(a["id"], clock.now())) == kept


def test_turning_receipts_off_stops_them_both_ways(client, sender, pair, frozen):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    assert settings(client, b, read_receipts=0) == {"code": 200, "message": "Success", "data": {"read_receipts": 0}}
    send(client, a, b["id"], "one")
    assert [item["is_read"] for item in history(client, a, b)] == [1]  # the origin's value: nothing is told
    history(client, b, a)
    send(client, b, a["id"], "two")
    frozen[0] += 1
    history(client, a, b)
    assert receipts_for(sender, "a1") == receipts_for(sender, "b1") == []
    assert settings(client, b, read_receipts=1)["code"] == 200
    send(client, a, b["id"], "three")
    frozen[0] += 1
    history(client, b, a)
    assert [frame["read_seq"] for frame in receipts_for(sender, "a1")] == [3]


@pytest.mark.parametrize("fields, message", [
    ({}, "read_receipts is required"),
    ({"read_receipts": 2}, "read_receipts must be one of 0, 1"),
    ({"read_receipts": "off"}, "read_receipts must be an integer"),
])
def test_bad_settings_are_refused(client, pair, fields, message):
    a, _ = pair
    assert settings(client, a, **fields) == {"code": 1000, "message": message, "data": {}}


def test_group_reads_count_the_members_present_when_it_was_sent(client, sender):
    owner, b, c, d, late = (register(client) for _ in range(5))
    for friend in (b, c, d, late):
        befriend(client, owner, friend)
    group = make_group(client, owner, [b, c, d])
    message = send(client, owner, group["id"], "read me", channel_type=2)
    post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 1, "select_user": [late["id"]]},
              owner["token"])
    get(client, "/messages/groups", b["token"], to_id=group["id"])
    assert settings(client, d, read_receipts=0)["code"] == 200
    answer = get(client, f"/groups/{group['id']}/reads", c["token"], id=message["id"]).json_body
    assert answer == {"code": 200, "message": "Success", "data": {
        "id": message["id"], "read": 1, "unread": 1, "read_ids": [b["id"]], "unread_ids": [c["id"]]}}
    assert receipts_for(sender, "o1") == []  # groups are never pushed


def test_group_reads_are_for_members_and_real_messages_only(client):
    owner, b, late, stranger = (register(client) for _ in range(4))
    for friend in (b, late):
        befriend(client, owner, friend)
    group = make_group(client, owner, [b])
    message = send(client, owner, group["id"], "before", channel_type=2)
    post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 1, "select_user": [late["id"]]},
              owner["token"])
    path = f"/groups/{group['id']}/reads"
    assert get(client, path, stranger["token"], id=message["id"]).json_body == {
        "code": 1003, "message": NOT_A_MEMBER, "data": {}}
    not_found = {"code": 1000, "message": "id is not a message of this group", "data": {}}
    assert get(client, path, late["token"], id=message["id"]).json_body == not_found  # before my join
    assert get(client, path, b["token"], id=999).json_body == not_found
    assert get(client, path, b["token"]).json_body == {"code": 1000, "message": "id is required", "data": {}}
    assert get(client, path, b["token"], id="x").json_body == {"code": 1000, "message": "id must be an integer",
                                                               "data": {}}

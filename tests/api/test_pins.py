"""Pinned messages: who may pin, the notice, the list, the limit, recalled messages, bad inputs and races."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import keys
from chalicelib.db import pins as pins_db
from chalicelib.db.models import PinBoard
from chalicelib.services.conversation import BLOCKED_BY_PEER
from tests.api.test_blocks import block
from tests.api.test_conflicts import table_items
from tests.api.test_edits import blocking_first, not_limits, send, without_the_block
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, get, online, post_form, register


def pin(client, me, to_id, seq, on=1, channel_type=1):
    return post_form(client, "/messages/pin", {"to_id": to_id, "channel_type": channel_type, "id": seq, "on": on},
                     me["token"]).json_body


def pins(client, me, to_id, channel_type=1):
    return get(client, "/messages/pins", me["token"], to_id=to_id, channel_type=channel_type).json_body


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def test_either_side_pins_a_private_message_with_a_notice_and_both_see_the_list(client, sender, pair):
    a, b = pair
    online(a["id"], "a-socket")
    online(b["id"], "b-socket")
    first = send(client, a, b["id"], "remember this")
    assert pin(client, b, a["id"], first["id"]) == {"code": 200, "message": "Success", "data": {
        "id": first["id"], "to_id": a["id"], "channel_type": 1, "pinned": 1}}
    notice = sender.frames_for("a-socket")[-1]  # the peer's sockets get the notice as a chat frame
    assert (notice["msg_code"], notice["msg_type"], notice["notice"], notice["message"], notice["form_id"],
            notice["to_id"], notice["channel_type"]) == (200, 6, "pin", f"{b['name']} 置顶了一条消息", b["id"],
                                                         a["id"], 1)
    for viewer, peer in ((a, b), (b, a)):
        (listed,) = pins(client, viewer, peer["id"])["data"]
        assert (listed["id"], listed["pinned_by"], len(listed["pinned_at"])) == (first["id"], b["id"], 19)
        assert {key: listed["message"][key] for key in ("id", "msg_id", "form_id", "to_id", "channel_type",
                                                        "msg_type", "msg", "recalled", "edited", "created_at")} == {
            "id": first["id"], "msg_id": first["msg_id"], "form_id": a["id"], "to_id": b["id"], "channel_type": 1,
            "msg_type": 1, "msg": "remember this", "recalled": 0, "edited": 0, "created_at": first["send_time"]}
        assert listed["message"]["Users"] == {"id": a["id"], "name": a["name"], "avatar": a["avatar"]}
        history = get(client, "/messages", viewer["token"], to_id=peer["id"]).json_body["data"]["list"]
        assert [(m["msg_type"], m["msg"]) for m in history] == [(1, "remember this"),
                                                                (6, f"{b['name']} 置顶了一条消息")]
    # pinning again changes nothing and posts no second notice
    assert pin(client, a, b["id"], first["id"])["code"] == 200
    assert len(get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"]) == 2
    assert pin(client, a, b["id"], first["id"], on=0)["data"]["pinned"] == 0
    assert pins(client, b, a["id"])["data"] == []
    assert pin(client, a, b["id"], first["id"], on=0) == {"code": 1000, "message": "this message is not pinned",
                                                          "data": {}}


def test_pins_list_newest_first(client, pair):
    a, b = pair
    sent = [send(client, a, b["id"], f"m{n}") for n in range(3)]
    for message in (sent[1], sent[0], sent[2]):
        assert pin(client, a, b["id"], message["id"])["code"] == 200
    assert [row["id"] for row in pins(client, a, b["id"])["data"]] == [sent[2]["id"], sent[0]["id"], sent[1]["id"]]


def test_in_groups_only_the_owner_and_admins_pin_and_members_see_the_notice(client, sender, pair):
    a, b = pair
    c = register(client)
    befriend(client, a, c)
    group = make_group(client, a, [b, c])
    online(c["id"], "c-socket")
    sent = group_send(client, b, group["id"], "group rules")["data"]
    assert pin(client, b, group["id"], sent["id"], channel_type=2) == {
        "code": 1003, "message": "only the owner or an admin can pin messages in a group", "data": {}}
    assert pin(client, a, group["id"], sent["id"], channel_type=2)["code"] == 200
    notice = sender.frames_for("c-socket")[-1]
    assert (notice["msg_code"], notice["msg_type"], notice["notice"], notice["form_id"], notice["to_id"]) == (
        200, 6, "pin", a["id"], group["id"])
    assert [row["id"] for row in pins(client, c, group["id"], 2)["data"]] == [sent["id"]]
    outsider = register(client)
    assert pins(client, outsider, group["id"], 2)["code"] == 1003
    assert pin(client, outsider, group["id"], sent["id"], channel_type=2)["code"] == 1003
    item = get(client, "/messages/groups", c["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert (item["MsgType"], item["Notice"], item["Message"]) == (6, "pin", f"{a['name']} 置顶了一条消息")
    # a member who joins later sees no pins of messages from before their join
    late = register(client)
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {}, late["token"]).json_body["code"] == 200
    assert pins(client, late, group["id"], 2)["data"] == []


def test_a_recalled_message_is_unpinned_not_pinned(client, pair):
    a, b = pair
    kept, gone = send(client, a, b["id"], "kept"), send(client, a, b["id"], "gone")
    assert pin(client, a, b["id"], kept["id"])["code"] == 200
    for message in (kept, gone):
        assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": message["id"]}, a["token"]
                         ).json_body["code"] == 200
    assert pin(client, a, b["id"], gone["id"]) == {"code": 1000, "message": "a recalled message cannot be pinned",
                                                   "data": {}}
    (listed,) = pins(client, a, b["id"])["data"]
    assert (listed["message"]["recalled"], listed["message"]["msg_type"]) == (1, 6)
    assert pin(client, b, a["id"], kept["id"], on=0)["code"] == 200


def test_at_most_fifty_pins_a_conversation(client, pair):
    a, b = pair
    sent = [send(client, a, b["id"], f"m{n}") for n in range(51)]
    for message in sent[:50]:
        assert pin(client, a, b["id"], message["id"])["code"] == 200
    before = not_limits(table_items())
    assert pin(client, b, a["id"], sent[50]["id"]) == {
        "code": 1000, "message": "at most 50 messages can be pinned in a conversation", "data": {}}
    assert not_limits(table_items()) == before
    assert pin(client, a, b["id"], sent[0]["id"], on=0)["code"] == 200
    assert pin(client, b, a["id"], sent[50]["id"])["code"] == 200


def test_pins_racing_for_the_last_places_keep_the_limit(client, pair):
    a, b = pair
    sent = [send(client, a, b["id"], f"m{n}") for n in range(52)]
    for message in sent[:48]:
        assert pin(client, a, b["id"], message["id"])["code"] == 200
    barrier = threading.Barrier(4)

    def racing(message):
        barrier.wait()
        return pin(client, a, b["id"], message["id"])["code"]

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(racing, sent[48:]))
    assert sorted(codes) == [200, 200, 1000, 1000]
    assert len(pins(client, a, b["id"])["data"]) == 50
    board = PinBoard.get(keys.private_conversation(a["id"], b["id"]), keys.PIN_BOARD_SK)
    assert int(board.pinned) == 50


def test_a_peer_who_blocked_me_gets_no_pin_notice_from_me(client, pair):
    a, b = pair
    sent = send(client, b, a["id"], "hi")
    assert block(client, b, a["id"])["code"] == 200
    assert pin(client, a, b["id"], sent["id"])["code"] == 1003
    assert pin(client, b, a["id"], sent["id"])["code"] == 200  # the blocker may


def test_a_pin_meeting_a_block_committed_after_its_read_is_refused_and_changes_nothing(client, sender, pair,
                                                                                      monkeypatch):
    a, b = pair
    online(b["id"], "b-socket")
    sent = send(client, b, a["id"], "hi")
    before = not_limits(table_items())
    frames_before = len(sender.frames_for("b-socket"))
    blocking_first(monkeypatch, pins_db, "pin", b, a)
    assert pin(client, a, b["id"], sent["id"]) == {"code": 1003, "message": BLOCKED_BY_PEER, "data": {}}
    assert without_the_block(table_items(), b, a) == before  # no pin, no board, no notice
    assert sender.frames_for("b-socket")[frames_before:] == []


@pytest.mark.parametrize("fields, message", [
    ({"id": 1}, "to_id"), ({"to_id": 5}, "id"), ({"to_id": 5, "id": "x"}, "id"),
    ({"to_id": 5, "id": 1, "on": 2}, "on"), ({"to_id": 5, "id": 1, "channel_type": 0}, "channel_type"),
    ({"to_id": 5, "id": 99}, "message not found"),
])
def test_bad_pins_are_1000_and_change_nothing(client, pair, fields, message):
    a, b = pair
    send(client, a, b["id"], "hi")
    fields = {**fields, "to_id": b["id"]} if fields.get("to_id") == 5 else fields
    before = not_limits(table_items())
    answer = post_form(client, "/messages/pin", fields, a["token"]).json_body
    assert answer["code"] == 1000 and message in answer["message"], answer
    assert not_limits(table_items()) == before
    assert pins(client, a, "abc")["code"] == 1000


def test_notices_cannot_be_pinned(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "hi")
    assert pin(client, a, b["id"], sent["id"])["code"] == 200
    notice_id = get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"][-1]["id"]
    assert pin(client, a, b["id"], notice_id)["message"] == "notices cannot be pinned"

"""Editing text messages: frames 1008, history fields, versions, the preview, the limits, bad inputs and races."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from chalicelib.db import blocks, keys
from chalicelib.db import edits as edits_db
from chalicelib.services import edits as edits_service
from tests.api.test_blocks import block
from tests.api.test_conflicts import table_items
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, get, online, post_form, register


def send(client, me, to_id, text="hello", msg_type=1):
    fields = {"msg_client_id": time.time_ns() // 1000 % 10**15, "to_id": to_id, "msg_type": msg_type,
              "message": text, "channel_type": 1}
    answer = post_form(client, "/messages/private", fields, me["token"]).json_body
    assert answer["code"] == 200, answer
    return answer["data"]


def edit(client, me, to_id, seq, content, channel_type=1):
    return post_form(client, "/messages/edit", {"to_id": to_id, "channel_type": channel_type, "id": seq,
                                                "content": content}, me["token"]).json_body


def versions(client, me, to_id, seq, channel_type=1):
    return get(client, "/messages/edits", me["token"], to_id=to_id, channel_type=channel_type, id=seq).json_body


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def not_limits(items):
    return {key: item for key, item in items.items() if not key[0].startswith("LIMIT#")}


def test_an_edit_reaches_both_sides_shows_in_history_keeps_versions_and_moves_the_preview(client, sender, pair):
    a, b = pair
    online(a["id"], "a-socket")
    online(b["id"], "b-socket")
    first = send(client, a, b["id"], "helo")
    answer = edit(client, a, b["id"], first["id"], "hello")
    assert answer["code"] == 200
    data = answer["data"]
    assert {key: data[key] for key in ("id", "form_id", "to_id", "channel_type", "content", "edited", "edit_count")} \
        == {"id": first["id"], "form_id": a["id"], "to_id": b["id"], "channel_type": 1, "content": "hello",
            "edited": 1, "edit_count": 1}
    assert len(data["edited_at"]) == 19
    for socket in ("a-socket", "b-socket"):
        frame = sender.frames_for(socket)[-1]
        assert frame == {"msg_code": 1008, "id": first["id"], "msg_id": first["msg_id"], "form_id": a["id"],
                         "to_id": b["id"], "channel_type": 1, "content": "hello", "edited_at": data["edited_at"]}
    for viewer, peer in ((a, b), (b, a)):
        (item,) = get(client, "/messages", viewer["token"], to_id=peer["id"]).json_body["data"]["list"][-1:]
        assert (item["id"], item["msg"], item["edited"], item["edited_at"], item["msg_type"], item["recalled"]) == (
            first["id"], "hello", 1, data["edited_at"], 1, 0)
        session = next(s for s in get(client, "/sessions", viewer["token"]).json_body["data"]
                       if s["to_id"] == peer["id"])
        assert session["last_message"]["content"] == "hello"
    listed = versions(client, b, a["id"], first["id"])["data"]
    assert listed["content"] == "hello" and listed["edit_count"] == 1 and listed["edited"] == 1
    assert [(v["version"], v["content"], v["written_at"]) for v in listed["versions"]] == [
        (0, "helo", first["send_time"])]
    assert listed["versions"][0]["replaced_at"] == data["edited_at"]


def test_editing_an_earlier_message_leaves_the_preview_and_unedited_items_say_so(client, pair):
    a, b = pair
    first = send(client, a, b["id"], "one")
    send(client, b, a["id"], "two")
    assert edit(client, a, b["id"], first["id"], "one!")["code"] == 200
    session = next(s for s in get(client, "/sessions", a["token"]).json_body["data"] if s["to_id"] == b["id"])
    assert session["last_message"]["content"] == "two"
    history = get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"]
    assert [(m["msg"], m["edited"], bool(m["edited_at"])) for m in history] == [("one!", 1, True), ("two", 0, False)]
    unedited = versions(client, a, b["id"], history[1]["id"])["data"]
    assert (unedited["edited"], unedited["edit_count"], unedited["edited_at"], unedited["versions"]) == (0, 0, "", [])


def test_group_edits_reach_every_member_and_show_in_group_history(client, sender, pair):
    a, b = pair
    group = make_group(client, a, [b])
    online(a["id"], "a-socket")
    online(b["id"], "b-socket")
    sent = group_send(client, b, group["id"], "grop")["data"]
    data = edit(client, b, group["id"], sent["id"], "group", channel_type=2)["data"]
    for socket in ("a-socket", "b-socket"):
        assert sender.frames_for(socket)[-1] == {
            "msg_code": 1008, "id": sent["id"], "msg_id": sent["msg_id"], "form_id": b["id"], "to_id": group["id"],
            "channel_type": 2, "content": "group", "edited_at": data["edited_at"]}
    item = get(client, "/messages/groups", a["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert (item["Message"], item["edited"], item["edited_at"], item["MsgType"]) == (
        "group", 1, data["edited_at"], 1)
    # the owner may recall it, but nobody else edits it
    assert edit(client, a, group["id"], sent["id"], "mine now", channel_type=2)["code"] == 1003
    outsider = register(client)
    assert edit(client, outsider, group["id"], sent["id"], "x", channel_type=2)["code"] == 1003
    assert versions(client, outsider, group["id"], sent["id"], channel_type=2)["code"] == 1003
    assert [v["content"] for v in versions(client, a, group["id"], sent["id"], 2)["data"]["versions"]] == ["grop"]


def test_a_member_who_joined_later_cannot_see_earlier_versions(client, pair):
    a, b = pair
    group = make_group(client, a, [])
    sent = group_send(client, a, group["id"], "before you came")["data"]
    assert post_form(client, f"/groups/applyJoin/{group['id']}", {}, b["token"]).json_body["code"] == 200
    assert versions(client, b, group["id"], sent["id"], 2) == {"code": 1000, "message": "message not found",
                                                                "data": {}}


def test_recall_after_an_edit_is_a_recall_frame_and_hides_the_versions(client, sender, pair):
    a, b = pair
    online(b["id"], "b-socket")
    sent = send(client, a, b["id"], "oops")
    assert edit(client, a, b["id"], sent["id"], "oops!")["code"] == 200
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": sent["id"]}, a["token"]
                     ).json_body["code"] == 200
    assert [f["msg_code"] for f in sender.frames_for("b-socket")[-3:]] == [200, 1008, 1007]
    assert edit(client, a, b["id"], sent["id"], "again") == {
        "code": 1000, "message": "a recalled message cannot be edited", "data": {}}
    assert versions(client, b, a["id"], sent["id"])["message"] == "this message was recalled"


def test_the_same_text_is_no_edit_and_the_eleventh_edit_is_refused(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "v0")
    assert edit(client, a, b["id"], sent["id"], "v0")["data"]["edit_count"] == 0
    for number in range(1, 11):
        assert edit(client, a, b["id"], sent["id"], f"v{number}")["data"]["edit_count"] == number
    before = not_limits(table_items())
    assert edit(client, a, b["id"], sent["id"], "v11") == {
        "code": 1000, "message": "a message can be edited at most 10 times", "data": {}}
    assert not_limits(table_items()) == before
    listed = versions(client, b, a["id"], sent["id"])["data"]
    assert [v["content"] for v in listed["versions"]] == [f"v{n}" for n in range(10)]
    assert listed["content"] == "v10"


def test_edits_are_for_text_of_my_own_within_a_day(client, pair, monkeypatch):
    a, b = pair
    image = send(client, a, b["id"], "https://x/a.png", msg_type=4)
    assert edit(client, a, b["id"], image["id"], "text")["message"] == "only text messages can be edited"
    text = send(client, a, b["id"], "hi")
    assert edit(client, b, a["id"], text["id"], "hijacked") == {
        "code": 1003, "message": "you can only edit your own messages", "data": {}}
    real_now = time.time
    monkeypatch.setattr(edits_service, "clock", SimpleNamespace(now=lambda: real_now() + 24 * 3600 + 5))
    assert edit(client, a, b["id"], text["id"], "late")["message"] == (
        "messages can only be edited within 24 hours of sending")


def test_a_peer_who_blocked_me_gets_no_edits(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "hi")
    assert block(client, b, a["id"])["code"] == 200
    answer = edit(client, a, b["id"], sent["id"], "hi!")
    assert answer["code"] == 1003 and "has blocked you" in answer["message"]


def blocking_first(monkeypatch, module, name, blocker, blocked):
    """`module.name` (a write the service makes after its reads) runs only once `blocker` blocked `blocked`: the
    block commits between the service's read and its write."""
    write = getattr(module, name)

    def blocked_first(*args, **kwargs):
        assert blocks.block(blocker["id"], blocked["id"], time.time())
        return write(*args, **kwargs)

    monkeypatch.setattr(module, name, blocked_first)


def without_the_block(items, blocker, blocked):
    """The table as it was before `blocker` blocked `blocked`: their Block item and the head's `blocked_by` left
    out, and the head's `fresh` mark put back (the block's write of the head took it off: it was no send)."""
    head = (keys.private_conversation(blocker["id"], blocked["id"]), keys.CONVERSATION_META_SK)
    rest = {key: item for key, item in not_limits(items).items()
            if key not in (head, (keys.user_pk(blocker["id"]), keys.block_sk(blocked["id"])))}
    assert items[head].pop("blocked_by") == {"NS": [str(blocker["id"])]}
    assert "fresh" not in items[head]
    return {**rest, head: {**items[head], "fresh": {"BOOL": True}}}


@pytest.mark.parametrize("last", [True, False])
def test_an_edit_meeting_a_block_committed_after_its_read_is_refused_and_changes_nothing(
        client, sender, pair, monkeypatch, last):
    """The last message's edit writes the conversation's preview, an earlier one's does not: either way the head
    must not name me in `blocked_by` when the edit commits."""
    a, b = pair
    online(b["id"], "b-socket")
    sent = send(client, a, b["id"], "hi")
    if not last:
        send(client, a, b["id"], "after")
    before = not_limits(table_items())
    frames_before = len(sender.frames_for("b-socket"))
    blocking_first(monkeypatch, edits_db, "edit", b, a)
    answer = edit(client, a, b["id"], sent["id"], "hi!")
    assert answer["code"] == 1003 and "has blocked you" in answer["message"], answer
    assert without_the_block(table_items(), b, a) == before
    assert sender.frames_for("b-socket")[frames_before:] == []


@pytest.mark.parametrize("fields, message", [
    ({"id": 1, "content": "x"}, "to_id"), ({"to_id": 5, "content": "x"}, "id"), ({"to_id": 5, "id": 1}, "content"),
    ({"to_id": 5, "id": "1x", "content": "x"}, "id"), ({"to_id": 5, "id": 1, "content": ""}, "content"),
    ({"to_id": 5, "id": 1, "content": "x", "channel_type": 3}, "channel_type"),
    ({"to_id": 5, "id": 99, "content": "x"}, "message not found"),
    ({"to_id": 5, "id": 1, "content": "x" * 5001}, "content must be at most 5000 characters"),
])
def test_bad_edits_are_1000_and_change_nothing(client, pair, fields, message):
    a, b = pair
    send(client, a, b["id"], "hi")
    fields = {**fields, "to_id": b["id"]} if fields.get("to_id") == 5 else fields
    before = not_limits(table_items())
    answer = post_form(client, "/messages/edit", fields, a["token"]).json_body
    assert answer["code"] == 1000 and message in answer["message"], answer
    assert not_limits(table_items()) == before


def test_two_edits_at_once_are_applied_one_after_the_other(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "v0")
    barrier = threading.Barrier(2)

    def racing(text):
        barrier.wait()
        return edit(client, a, b["id"], sent["id"], text)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(racing, ["left", "right"]))
    assert sorted(answer["data"]["edit_count"] for answer in answers) == [1, 2]
    listed = versions(client, a, b["id"], sent["id"])["data"]
    first = next(answer["data"]["content"] for answer in answers if answer["data"]["edit_count"] == 1)
    second = next(answer["data"]["content"] for answer in answers if answer["data"]["edit_count"] == 2)
    assert (listed["edit_count"], listed["content"]) == (2, second)
    assert [v["content"] for v in listed["versions"]] == ["v0", first]


def test_at_the_limit_two_edits_at_once_let_one_through(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "v0")
    for number in range(1, 10):
        assert edit(client, a, b["id"], sent["id"], f"v{number}")["code"] == 200
    barrier = threading.Barrier(2)

    def racing(text):
        barrier.wait()
        return edit(client, a, b["id"], sent["id"], text)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(racing, ["left", "right"]))
    assert sorted(answer["code"] for answer in answers) == [200, 1000]
    listed = versions(client, a, b["id"], sent["id"])["data"]
    assert listed["edit_count"] == 10 and len(listed["versions"]) == 10


def test_an_edit_meeting_a_conflict_reads_again_and_counts_once(client, pair, dynamodb_conflicts):
    a, b = pair
    sent = send(client, a, b["id"], "v0")
    dynamodb_conflicts.every_write = True
    dynamodb_conflicts.pending = 2  # the quota write, then the edit's transaction
    assert edit(client, a, b["id"], sent["id"], "v1")["data"]["edit_count"] == 1
    assert dynamodb_conflicts.pending == 0
    assert [v["content"] for v in versions(client, a, b["id"], sent["id"])["data"]["versions"]] == ["v0"]

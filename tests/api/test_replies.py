"""Replies: `reply_to` on private and group sends, the quote in the answer, the frame and history."""
from __future__ import annotations

import time

import pytest

from chalicelib.db import groups as groups_db
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from tests.api.test_groups import make_group
from tests.support.factories import befriend, get, online, post_form, register


def send(client, user, to_id, text="hello", channel_type=1, **extra):
    fields = {"msg_client_id": time.time_ns() // 1000 % 10**15, "to_id": to_id, "msg_type": 1, "message": text,
              "channel_type": channel_type, **extra}
    return post_form(client, "/messages/private", fields, user["token"]).json_body


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def private_stored(a, b):
    return messages_db.history(keys.private_conversation(a["id"], b["id"]), None, 1000)


def test_a_private_reply_carries_the_quote_in_the_answer_the_frame_and_both_histories(client, sender, pair):
    a, b = pair
    online(a["id"], "a1")
    online(b["id"], "b1")
    original = send(client, a, b["id"], "x" * 150)["data"]
    answer = send(client, b, a["id"], "agreed", reply_to=original["id"])
    assert answer["code"] == 200, answer
    quote = {"id": original["id"], "form_id": a["id"], "msg_type": 1, "content": "x" * 100, "recalled": 0}
    assert (answer["data"]["reply_to"], answer["data"]["reply"]) == (original["id"], quote)
    frame = sender.frames_for("a1")[-1]
    assert frame["msg_code"] == 200 and frame["message"] == "agreed"
    assert (frame["reply_to"], frame["reply"]) == (original["id"], quote)
    for viewer in (a, b):
        listed = get(client, "/messages", viewer["token"], to_id=(b if viewer is a else a)["id"]).json_body["data"]
        first, second = listed["list"]
        assert "reply_to" not in first and "reply" not in first  # a plain message carries neither
        assert (second["reply_to"], second["reply"]) == (original["id"], quote)


def test_a_reply_to_a_message_recalled_later_shows_it_recalled_in_history(client, pair):
    a, b = pair
    original = send(client, a, b["id"], "oops, secret")["data"]
    send(client, b, a["id"], "what?", reply_to=original["id"])
    assert post_form(client, "/messages/recall", {"to_id": b["id"], "id": original["id"]},
                     a["token"]).json_body["code"] == 200
    # the target on the same page, and on an older page than the reply's (read with one more call)
    for page_size in (50, 1):
        item = get(client, "/messages", b["token"], to_id=a["id"], pageSize=page_size).json_body["data"]["list"][-1]
        assert item["reply"] == {"id": original["id"], "form_id": a["id"], "msg_type": 1, "content": "",
                                 "recalled": 1}


@pytest.mark.parametrize("reply_to, message", [
    ("abc", "reply_to must be an integer"),
    (0, "reply_to must be at least 1"),
    (99, "reply_to is not a message of this conversation"),
])
def test_a_bad_reply_to_is_refused_and_stores_nothing(client, pair, reply_to, message):
    a, b = pair
    send(client, a, b["id"], "first")
    answer = send(client, b, a["id"], "reply", reply_to=reply_to)
    assert answer == {"code": 1000, "message": message, "data": {}}
    assert [m.content for m in private_stored(a, b)] == ["first"]


def test_replying_to_a_message_of_another_conversation_is_refused(client, pair):
    a, b = pair
    c = register(client)
    befriend(client, a, c)
    send(client, a, c["id"], "to c")
    send(client, a, c["id"], "to c again")
    answer = send(client, a, b["id"], "reply", reply_to=2)  # a's conversation with b has no message 2
    assert answer == {"code": 1000, "message": "reply_to is not a message of this conversation", "data": {}}
    assert private_stored(a, b) == []


def test_replying_to_a_recalled_message_is_refused(client, pair):
    a, b = pair
    original = send(client, a, b["id"], "gone")["data"]
    post_form(client, "/messages/recall", {"to_id": b["id"], "id": original["id"]}, a["token"])
    answer = send(client, b, a["id"], "reply", reply_to=original["id"])
    assert answer == {"code": 1000, "message": "you cannot reply to a recalled message", "data": {}}
    assert len(private_stored(a, b)) == 1


def test_a_stranger_with_reply_to_is_refused_as_a_stranger(client):
    a, b = register(client), register(client)
    answer = send(client, a, b["id"], "hi", reply_to=1)
    assert answer["code"] == 1003
    assert private_stored(a, b) == []


def test_a_retry_of_a_stored_reply_returns_the_original_even_after_its_target_was_recalled(client, pair):
    a, b = pair
    original = send(client, a, b["id"], "question")["data"]
    fields = {"msg_client_id": 4242, "to_id": a["id"], "msg_type": 1, "message": "answer", "reply_to": original["id"]}
    first = post_form(client, "/messages/private", fields, b["token"]).json_body
    post_form(client, "/messages/recall", {"to_id": b["id"], "id": original["id"]}, a["token"])
    again = post_form(client, "/messages/private", fields, b["token"]).json_body
    assert again["code"] == 200 and again["data"]["id"] == first["data"]["id"]
    assert len(private_stored(a, b)) == 2


def test_a_group_reply_reaches_every_member_with_its_quote_and_history_has_it(client, sender):
    owner, b, c = register(client), register(client), register(client)
    befriend(client, owner, b)
    befriend(client, owner, c)
    group = make_group(client, owner, [b, c])
    for user, connection in ((owner, "o1"), (b, "b1"), (c, "c1")):
        online(user["id"], connection)
    original = send(client, b, group["id"], "who collects stamps?", channel_type=2)["data"]
    answer = send(client, c, group["id"], "me", channel_type=2, reply_to=original["id"])
    assert answer["code"] == 200, answer
    quote = {"id": original["id"], "form_id": b["id"], "msg_type": 1, "content": "who collects stamps?",
             "recalled": 0}
    for connection in ("o1", "b1", "c1"):
        frame = sender.frames_for(connection)[-1]
        assert (frame["message"], frame["reply_to"], frame["reply"]) == ("me", original["id"], quote)
    listed = get(client, "/messages/groups", owner["token"], to_id=group["id"]).json_body["data"]["list"]
    assert (listed[-1]["Message"], listed[-1]["reply_to"], listed[-1]["reply"]) == ("me", original["id"], quote)


def test_a_group_member_cannot_reply_to_a_message_from_before_their_join_nor_to_a_notice(client):
    owner, b, late = register(client), register(client), register(client)
    befriend(client, owner, b)
    befriend(client, owner, late)
    group = make_group(client, owner, [b])
    before = send(client, owner, group["id"], "before you came", channel_type=2)["data"]
    assert post_form(client, "/groups/createOrRemoveUser", {"group_id": group["id"], "type": 1,
                                                             "select_user": [late["id"]]},
                     owner["token"]).json_body["code"] == 200
    notice = messages_db.history(keys.group_conversation(group["id"]), None, 1)[0]
    assert notice.notice == "join"
    assert send(client, late, group["id"], "hm", channel_type=2, reply_to=before["id"]) == {
        "code": 1000, "message": "reply_to is not a message of this conversation", "data": {}}
    assert send(client, b, group["id"], "hm", channel_type=2, reply_to=notice.seq) == {
        "code": 1000, "message": "you cannot reply to a group notice", "data": {}}
    assert groups_db.membership(group["id"], late["id"]) is not None
    assert messages_db.history(keys.group_conversation(group["id"]), None, 1)[0].seq == notice.seq


def test_a_non_member_replying_in_a_group_is_refused_as_a_non_member(client):
    owner, b, outsider = register(client), register(client), register(client)
    befriend(client, owner, b)
    group = make_group(client, owner, [b])
    send(client, owner, group["id"], "hello", channel_type=2)
    assert send(client, outsider, group["id"], "hi", channel_type=2, reply_to=1)["code"] == 1003

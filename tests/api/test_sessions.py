"""The conversation list."""
from __future__ import annotations

import pytest

from tests.support.factories import befriend, delete, get, post_form, register


def test_new_users_have_the_bot_session_and_an_empty_list_is_an_object(client):
    me = register(client)
    listed = get(client, "/sessions", me["token"]).json_body["data"]
    assert [(s["to_id"], s["name"], s["unread"]) for s in listed] == [(1, "机器人", 2)]
    assert listed[0]["last_message"]["content"] == "我们来玩个游戏吧！你问我答~！👋"
    assert delete(client, f"/sessions/{listed[0]['id']}", me["token"]).json_body["code"] == 200
    assert get(client, "/sessions", me["token"]).json_body["data"] == {}


def private_sessions(client, user):
    listed = get(client, "/sessions", user["token"]).json_body["data"]
    return [(s["to_id"], s["last_message"]["content"]) for s in listed or [] if s["to_id"] != 1]


def test_a_removed_private_session_comes_back_with_the_next_message_only(client):
    """Removing a session hides the conversation up to its newest message; a message after that shows it again
    (the list compares the head's sequence with the one the removal saw: no write on the send, no clock)."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    fields = {"to_id": a["id"], "msg_type": 1}
    post_form(client, "/messages/private", {**fields, "msg_client_id": 1, "message": "one"}, b["token"])
    (session,) = [s for s in get(client, "/sessions", a["token"]).json_body["data"] if s["to_id"] == b["id"]]
    assert delete(client, f"/sessions/{session['id']}", a["token"]).json_body["code"] == 200
    assert private_sessions(client, a) == []
    post_form(client, "/messages/private", {"to_id": b["id"], "msg_type": 1, "msg_client_id": 2, "message": "mine"},
              a["token"])  # my own message brings it back as well
    assert private_sessions(client, a) == [(b["id"], "mine")]
    assert delete(client, f"/sessions/{session['id']}", a["token"]).json_body["code"] == 200
    assert private_sessions(client, a) == []
    post_form(client, "/messages/private", {**fields, "msg_client_id": 3, "message": "two"}, b["token"])
    assert private_sessions(client, a) == [(b["id"], "two")]


def test_open_returns_the_existing_session_and_revives_a_removed_one(client):
    a, b = register(client), register(client)
    first = post_form(client, "/sessions", {"id": b["id"], "type": 1}, a["token"]).json_body["data"]
    assert first["to_id"] == b["id"] and first["Users"]["id"] == b["id"] and first["channel_type"] == 1
    again = post_form(client, "/sessions", {"id": b["id"], "type": 1}, a["token"]).json_body["data"]
    assert again["id"] == first["id"]
    assert delete(client, f"/sessions/{first['id']}", a["token"]).json_body["code"] == 200
    assert [s["to_id"] for s in get(client, "/sessions", a["token"]).json_body["data"]] == [1]
    revived = post_form(client, "/sessions", {"id": b["id"], "type": 1}, a["token"]).json_body["data"]
    assert revived["id"] == first["id"]
    assert first["id"] in [s["id"] for s in get(client, "/sessions", a["token"]).json_body["data"]]


@pytest.mark.parametrize("fields, message", [
    ({"type": 1}, "id is required"),
    ({"id": 999999, "type": 1}, "user does not exist"),
    ({"id": 2, "type": 3}, "type must be one of 1, 2"),
    ({"id": "x", "type": 1}, "id must be an integer"),
])
def test_open_bad_input(client, fields, message):
    me = register(client)
    assert post_form(client, "/sessions", fields, me["token"]).json_body == {"code": 1000, "message": message,
                                                                             "data": {}}


def test_open_with_myself_is_refused(client):
    me = register(client)
    assert post_form(client, "/sessions", {"id": me["id"], "type": 1}, me["token"]).json_body["code"] == 1000


def test_pin_unpin_note_and_ordering(client):
    a, b, c = register(client), register(client), register(client)
    befriend(client, a, b)
    befriend(client, a, c)
    listed = get(client, "/sessions", a["token"]).json_body["data"]
    older = next(s for s in listed if s["to_id"] == b["id"])
    assert post_form(client, f"/sessions/{older['id']}", {"top_status": 1, "note": "best"}, a["token"],
                     method="put").json_body["code"] == 200
    listed = get(client, "/sessions", a["token"]).json_body["data"]
    assert listed[0]["id"] == older["id"] and listed[0]["top_status"] == 1 and listed[0]["note"] == "best"
    assert post_form(client, f"/sessions/{older['id']}", {"top_status": 0}, a["token"], method="put"
                     ).json_body["code"] == 200
    assert all(s["top_status"] == 0 for s in get(client, "/sessions", a["token"]).json_body["data"])


@pytest.mark.parametrize("fields, message", [
    ({}, "nothing to change: send top_status, note, read_seq or mute_until"),
    ({"top_status": 2}, "top_status must be one of 0, 1"),
    ({"note": "n" * 51}, "note must be at most 50 characters"),
    ({"read_seq": -1}, "read_seq must be at least 0"),
])
def test_update_bad_input(client, fields, message):
    a, b = register(client), register(client)
    session_id = post_form(client, "/sessions", {"id": b["id"], "type": 1}, a["token"]).json_body["data"]["id"]
    assert post_form(client, f"/sessions/{session_id}", fields, a["token"], method="put").json_body == {
        "code": 1000, "message": message, "data": {}}


def test_unknown_session_is_not_found(client):
    me = register(client)
    assert delete(client, "/sessions/987654", me["token"]).json_body["message"] == "session not found"


def test_emails_in_private_sessions_and_history_are_for_friends_only(client):
    """The web client's profile popup shows `Users.email`: a friend's is shown, a stranger's never."""
    a, b, stranger = register(client), register(client), register(client)
    befriend(client, a, b)
    post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": b["id"], "msg_type": 1, "message": "hi"},
              a["token"])
    post_form(client, "/messages/private", {"msg_client_id": 2, "to_id": a["id"], "msg_type": 1, "message": "yo"},
              b["token"])

    def session_email(viewer, peer):
        listed = get(client, "/sessions", viewer["token"]).json_body["data"]
        return next(s for s in listed if s["to_id"] == peer["id"])["Users"]["email"]

    def history_emails(viewer, peer):
        listed = get(client, "/messages", viewer["token"], to_id=peer["id"]).json_body["data"]["list"]
        return [(m["Users"]["id"], m["Users"]["email"]) for m in listed]

    assert session_email(a, b) == b["email"] and session_email(b, a) == a["email"]
    assert history_emails(a, b) == [(a["id"], a["email"]), (b["id"], b["email"])]
    opened = post_form(client, "/sessions", {"id": stranger["id"], "type": 1}, a["token"]).json_body["data"]
    assert opened["Users"]["id"] == stranger["id"] and opened["Users"]["email"] == ""
    assert session_email(a, stranger) == ""
    assert post_form(client, "/sessions", {"id": b["id"], "type": 1}, a["token"]).json_body["data"]["Users"][
        "email"] == b["email"]
    assert next(s for s in get(client, "/sessions", a["token"]).json_body["data"] if s["to_id"] == 1)["Users"][
        "email"] == ""
    delete(client, f"/friends/{b['id']}", a["token"])
    assert session_email(a, b) == ""
    assert history_emails(a, b) == [(a["id"], a["email"]), (b["id"], "")]

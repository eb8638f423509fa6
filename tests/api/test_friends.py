"""Friends, requests, search, presence and the address book through the HTTP API."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import friends as friends_db
from chalicelib.db import sessions as sessions_db
from chalicelib.ws import handlers
from tests.support.factories import befriend, connect, delete, get, online, post_form, register, ws_event

BOT = 1


def ask(client, a, b, information="添加好友"):
    return post_form(client, "/friends/record", {"to_id": b["id"], "information": information}, a["token"]).json_body


def answer(client, user, record_id, status):
    return post_form(client, "/friends/record", {"id": record_id, "status": status}, user["token"], method="put"
                     ).json_body



def test_empty_lists_have_the_client_shapes(client):
    me = register(client)
    assert get(client, "/friends", me["token"]).json_body["data"] == []
    assert get(client, "/friends/record", me["token"]).json_body["data"] == []
    assert get(client, "/address/list", me["token"]).json_body["data"] == {"friends": [], "groups": []}


def test_request_push_accept_and_friend_lists(client, sender):
    a, b = register(client), register(client)
    online(b["id"], "b-socket")
    online(a["id"], "a-socket")
    asked = ask(client, a, b)
    assert asked["code"] == 200 and asked["data"]["status"] == 0 and asked["data"]["users"]["id"] == b["id"]
    pushed = sender.frames_for("b-socket")
    assert pushed[-1]["msg_code"] == 1000 and pushed[-1]["users"]["id"] == a["id"]
    assert pushed[-1]["form_id"] == a["id"] and pushed[-1]["to_id"] == b["id"]
    records = get(client, "/friends/record", b["token"]).json_body["data"]
    assert [(r["form_id"], r["users"]["id"], r["status"]) for r in records] == [(a["id"], a["id"], 0)]
    accepted = answer(client, b, asked["data"]["id"], 1)
    assert accepted["code"] == 200
    assert accepted["data"]["to_id"] == a["id"] and accepted["data"]["Users"]["id"] == a["id"]
    frame = sender.frames_for("a-socket")[-1]
    for me, other in ((a, b), (b, a)):
        listed = get(client, "/friends", me["token"]).json_body["data"]
        assert [row["Users"]["id"] for row in listed] == [other["id"]]
        assert listed[0]["Users"]["email"] == other["email"]
        sessions = get(client, "/sessions", me["token"]).json_body["data"]
        assert [(s["to_id"], s["channel_type"]) for s in sessions if s["to_id"] != BOT] == [(other["id"], 1)]
    # 1001 is the requester's own new session with the accepter: the web client adds it to its list as it is
    a_session = next(s for s in get(client, "/sessions", a["token"]).json_body["data"] if s["to_id"] == b["id"])
    assert frame["msg_code"] == 1001 and frame["record_id"] == asked["data"]["id"]
    assert (frame["id"], frame["form_id"], frame["to_id"]) == (a_session["id"], a["id"], b["id"])
    assert frame["users"] == {"id": b["id"], "name": b["name"], "avatar": b["avatar"]}
    assert {key: frame[key] for key in ("status", "created_at", "note", "top_time")} == {
        key: a_session[key] for key in ("status", "created_at", "note", "top_time")}
    assert get(client, f"/user/{b['id']}", a["token"]).json_body["data"]["email"] == b["email"]


def test_reject_pushes_1002(client, sender):
    a, b = register(client), register(client)
    online(a["id"], "a-socket")
    asked = ask(client, a, b)
    assert answer(client, b, asked["data"]["id"], 2)["data"]["status"] == 2
    assert sender.frames_for("a-socket")[-1]["msg_code"] == 1002
    assert get(client, "/friends", a["token"]).json_body["data"] == []
    assert ask(client, a, b)["code"] == 200


@pytest.mark.parametrize("fields, message", [
    ({"information": "x"}, "to_id is required"),
    ({"to_id": "abc", "information": "x"}, "to_id must be an integer"),
    ({"to_id": 99999, "information": "x"}, "user does not exist"),
    ({"to_id": 2}, "information is required"),
    ({"to_id": 2, "information": "x" * 201}, "information must be at most 200 characters"),
])
def test_request_bad_input(client, fields, message):
    me = register(client)
    assert post_form(client, "/friends/record", fields, me["token"]).json_body == {
        "code": 1000, "message": message, "data": {}}


def test_request_rules(client):
    a, b = register(client), register(client)
    assert ask(client, a, a)["message"] == "you cannot send a friend request to yourself"
    first = ask(client, a, b)
    assert ask(client, a, b)["message"] == "a request to this user is already waiting for an answer"
    answer(client, b, first["data"]["id"], 1)
    assert ask(client, a, b)["message"] == "you are already friends"


def test_asking_someone_who_already_asked_me_accepts_their_request(client):
    a, b = register(client), register(client)
    ask(client, a, b)
    crossed = ask(client, b, a)
    assert crossed["code"] == 200 and crossed["data"]["Users"]["id"] == a["id"]
    assert len(friends_db.list_friends(a["id"])) == len(friends_db.list_friends(b["id"])) == 1


def test_only_the_receiver_answers_and_only_once(client):
    a, b, c = register(client), register(client), register(client)
    record_id = ask(client, a, b)["data"]["id"]
    assert answer(client, a, record_id, 1)["code"] == 1003
    assert answer(client, c, record_id, 1)["message"] == "friend request not found"
    assert answer(client, b, record_id, 1)["code"] == 200
    assert answer(client, b, record_id, 1)["message"] == "this request has already been answered"
    assert answer(client, b, record_id, 3)["code"] == 1000


def test_accept_race_has_exactly_one_effect(client):
    from chalicelib.errors import AppError
    from chalicelib.services import friends

    a, b = register(client), register(client)
    record_id = ask(client, a, b)["data"]["id"]

    def accept(_):
        try:
            friends.answer_request(b["id"], record_id, 1)
            return "ok"
        except AppError as error:
            return error.message

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(accept, range(4)))
    assert outcomes.count("ok") == 1, outcomes
    assert len(friends_db.list_friends(a["id"])) == len(friends_db.list_friends(b["id"])) == 1
    assert len(sessions_db.list_for(a["id"])) == len(sessions_db.list_for(b["id"])) == 2  # the bot's and ours


def test_crossed_requests_at_once_end_in_one_friendship(client):
    from chalicelib.services import friends

    a, b = register(client), register(client)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda pair: friends.send_request(pair[0]["id"], pair[1]["id"], "hi"), [(a, b), (b, a)]))
    assert len(friends_db.list_friends(a["id"])) == len(friends_db.list_friends(b["id"])) == 1
    assert len(sessions_db.list_for(a["id"])) == len(sessions_db.list_for(b["id"])) == 2  # the bot's and ours


def test_friend_detail_is_the_relation_with_top_level_profile(client):
    a, b, c = register(client), register(client), register(client)
    befriend(client, a, b)
    detail = get(client, f"/friends/{b['id']}", a["token"]).json_body["data"]
    assert (detail["id"], detail["name"], detail["email"], detail["avatar"]) == (
        b["id"], b["name"], b["email"], b["avatar"])
    assert detail["form_id"] == a["id"] and detail["to_id"] == b["id"]
    assert get(client, f"/friends/{c['id']}", a["token"]).json_body["code"] == 1003


def test_the_bot_is_everyones_contact(client):
    """The web client asks GET /friends/{form_id} before drawing any private message, the bot's included."""
    stranger = register(client)
    answer = get(client, f"/friends/{BOT}", stranger["token"]).json_body
    assert answer["code"] == 200
    detail = answer["data"]
    assert (detail["id"], detail["name"], detail["email"]) == (BOT, "机器人", "")
    assert detail["avatar"] and detail["form_id"] == stranger["id"] and detail["to_id"] == BOT
    assert detail["Users"]["id"] == BOT and detail["Users"]["email"] == ""
    friend = register(client)
    befriend(client, stranger, friend)
    assert set(detail) == set(get(client, f"/friends/{friend['id']}", stranger["token"]).json_body["data"])


def test_unfriend_removes_both_sides_keeps_sessions_and_pushes(client, sender):
    a, b = register(client), register(client)
    befriend(client, a, b)
    online(b["id"], "b-socket")
    assert delete(client, f"/friends/{b['id']}", a["token"]).json_body["code"] == 200
    assert friends_db.list_friends(a["id"]) == friends_db.list_friends(b["id"]) == []
    assert sender.frames_for("b-socket")[-1]["msg_code"] == 1006
    assert len(get(client, "/sessions", a["token"]).json_body["data"]) == 2
    assert delete(client, f"/friends/{b['id']}", a["token"]).json_body["code"] == 1000


def test_online_status(client):
    a, b, c = register(client), register(client), register(client)
    befriend(client, a, b)
    assert get(client, f"/friends/status/{b['id']}", a["token"]).json_body["data"] == {"status": 2000, "id": b["id"]}
    online(b["id"], "b1")
    assert get(client, f"/friends/status/{b['id']}", a["token"]).json_body["data"]["status"] == 2001
    assert get(client, f"/friends/status/{a['id']}", a["token"]).json_body["data"]["status"] == 2000
    assert get(client, f"/friends/status/{b['id']}", c["token"]).json_body["code"] == 1003


def test_delete_request_only_by_a_party(client):
    a, b, c = register(client), register(client), register(client)
    record_id = ask(client, a, b)["data"]["id"]
    assert delete(client, f"/friends/record/{record_id}", c["token"]).json_body["code"] == 1000
    assert delete(client, f"/friends/record/{record_id}", a["token"]).json_body["code"] == 200
    assert get(client, "/friends/record", b["token"]).json_body["data"] == []
    assert ask(client, a, b)["code"] == 200


def test_offline_target_receives_the_request_after_connecting(client, sender):
    a, b = register(client), register(client)
    ask(client, a, b)
    connect(b["id"], "b-late")
    handlers.message(ws_event("$default", "b-late", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000)))
    assert [frame["msg_code"] for frame in sender.frames_for("b-late")] == [200, 200, 1000]  # bot greetings first


def test_user_search(client):
    a, b, c = register(client), register(client, name="Searchable1"), register(client, name="searchable2")
    befriend(client, a, c)
    by_email = get(client, "/friends/userQuery", a["token"], email=b["email"].upper()).json_body["data"]
    assert [u["id"] for u in by_email] == [b["id"]]
    by_name = get(client, "/friends/userQuery", a["token"], email="SEARCHABLE").json_body["data"]
    assert [u["id"] for u in by_name] == [b["id"]]
    assert get(client, "/friends/userQuery", a["token"], email=a["email"]).json_body["data"] == []
    assert get(client, "/friends/userQuery", a["token"], email="").json_body["data"] == []
    assert get(client, "/friends/userQuery", a["token"], name="zzzz-nobody").json_body["data"] == []


def test_address_list(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    data = post_form(client, "/address/list", {}, a["token"]).json_body["data"]
    assert [row["Users"]["id"] for row in data["friends"]] == [b["id"]] and data["groups"] == []


def test_third_party_changes_nothing(client):
    a, b, c = register(client), register(client), register(client)
    befriend(client, a, b)
    record_id = friends_db.list_requests(a["id"])[0].id
    session_id = next(s["id"] for s in get(client, "/sessions", a["token"]).json_body["data"] if s["to_id"] == b["id"])
    assert delete(client, f"/friends/record/{record_id}", c["token"]).json_body["code"] == 1000
    assert delete(client, f"/sessions/{session_id}", c["token"]).json_body["code"] == 1000
    assert post_form(client, f"/sessions/{session_id}", {"top_status": 1}, c["token"], method="put"
                     ).json_body["code"] == 1000
    assert delete(client, f"/friends/{a['id']}", c["token"]).json_body["code"] == 1000
    assert len(friends_db.list_friends(a["id"])) == 1
    assert all(s["top_status"] == 0 for s in get(client, "/sessions", a["token"]).json_body["data"])

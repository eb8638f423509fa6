"""Names and labels refuse control characters and bidirectional overrides; message text refuses only lone
surrogates (item 8)."""
from __future__ import annotations

import json

import pytest

from chalicelib.db import keys
from chalicelib.db.models import EmailLogin
from tests.support.factories import befriend, last_code_for, post_form, random_email, random_name, register

REFUSED = "must not contain control characters or bidirectional overrides"
SPOOFS = ["adm\u202enimda", "a\u2066b", "a\u202ab", "nul\u0000x", "bell\u0007", "del\u007f", "c1\u0085x"]


@pytest.mark.parametrize("name", SPOOFS)
def test_a_user_name_with_a_spoofing_character_is_refused(client, name):
    email = random_email()
    post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    body = {"email": email, "name": name, "password": "secret123", "password_repeat": "secret123",
            "code": last_code_for(email)}
    answer = client.http.post("/auth/registered", headers={"content-type": "application/json"},
                              body=json.dumps(body).encode()).json_body
    assert answer == {"code": 1000, "message": f"name {REFUSED}", "data": {}}
    with pytest.raises(EmailLogin.DoesNotExist):
        EmailLogin.get(keys.email_pk(email), keys.EMAIL_SK)


def test_group_server_session_and_request_texts_refuse_a_right_to_left_override(client):
    me, friend = register(client), register(client)
    befriend(client, me, friend)
    spoof = "evil\u202egnp.exe"
    group = {"name": "fine", "info": "fine info", "avatar": "https://a.example/x.png", "select_user": [friend["id"]]}
    cases = [
        ("/groups/store", dict(group, name=spoof), "name"),
        ("/groups/store", dict(group, info=spoof), "info"),
        ("/server_groups/createServer", {"name": spoof}, "name"),
        ("/friends/record", {"to_id": register(client)["id"], "information": spoof}, "information"),
    ]
    for path, fields, field in cases:
        answer = post_form(client, path, fields, me["token"]).json_body
        assert answer == {"code": 1000, "message": f"{field} {REFUSED}", "data": {}}, path
    sessions = client.http.get("/sessions", headers={"authorization": f"Bearer {me['token']}"}).json_body["data"]
    session_id = sessions[0]["id"]
    answer = post_form(client, f"/sessions/{session_id}", {"note": spoof}, me["token"], method="put").json_body
    assert answer == {"code": 1000, "message": f"note {REFUSED}", "data": {}}


def test_message_text_may_carry_any_character_but_a_lone_surrogate(client):
    me, friend = register(client), register(client)
    befriend(client, me, friend)
    text = "\u202e\u2066 tabs\tand\nnewlines \U0001f600"
    sent = post_form(client, "/messages/private", {"to_id": friend["id"], "message": text, "msg_type": 1,
                                                   "msg_client_id": 7}, me["token"]).json_body
    assert sent["code"] == 200 and sent["data"]["message"] == text
    refused = client.http.post("/messages/private", headers={"content-type": "application/json",
                                                             "authorization": f"Bearer {me['token']}"},
                               body=b'{"to_id": %d, "message": "x\\ud800", "msg_type": 1, "msg_client_id": 8}'
                               % friend["id"]).json_body
    assert refused["code"] == 1000 and "lone surrogate" in refused["message"]


def test_ordinary_names_still_work(client):
    assert register(client, name=f"名字{random_name()[:6]}")["id"]

"""Ended tokens: password reset, logout and logout everywhere, over HTTP and at $connect (issue 14 item 1)."""
from __future__ import annotations

import time

from chalicelib.security import revocation
from chalicelib.ws import handlers
from tests.support.factories import get, last_code_for, post_form, register, ws_event

ENDED = {"code": 401, "message": revocation.ENDED, "data": {}}


def connect(token: str, connection_id: str) -> int:
    return handlers.connect(ws_event("$connect", connection_id, query={"token": token}))["statusCode"]


def login(client, user) -> str:
    answer = post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}).json_body
    assert answer["code"] == 200, answer
    return answer["data"]["token"]


def reset(client, user, password="newpass1"):
    from chalicelib.db import keys
    from chalicelib.db.models import EmailCodes

    item = EmailCodes.get(keys.email_codes_pk(user["email"]), "CODES")
    item.update(actions=[EmailCodes.sent_at.set(item.sent_at - 3600)])  # past the resend cooldown
    assert post_form(client, "/auth/sendEmailCode", {"email": user["email"], "email_type": 2}).json_body["code"] == 200
    answer = post_form(client, "/auth/resetPassword", {"email": user["email"], "code": last_code_for(user["email"]),
                                                       "password": password, "password_repeat": password})
    assert answer.json_body["code"] == 200, answer.json_body


def test_password_reset_ends_every_earlier_token_everywhere(client, sender):
    user = register(client)
    other_device = login(client, user)
    assert connect(user["token"], "old-socket") == 200
    reset(client, user)

    for token in (user["token"], other_device):
        answer = get(client, f"/user/{user['id']}", token)
        assert answer.status_code == 401 and answer.json_body == ENDED
        assert connect(token, f"new-{token[-6:]}") == 401
    assert [frame["msg_code"] for frame in sender.frames_for("old-socket")] == [2004]
    assert sender.closed == ["old-socket"]

    revocation.forget()  # another process, with nothing cached, refuses it too
    assert get(client, f"/user/{user['id']}", user["token"]).status_code == 401
    fresh = login(client, dict(user, password="newpass1"))
    assert get(client, f"/user/{user['id']}", fresh).json_body["code"] == 200
    assert connect(fresh, "after-reset") == 200


def test_logout_ends_only_the_callers_token(client, sender):
    user = register(client)
    other_device = login(client, user)
    assert post_form(client, "/auth/logout", {}, user["token"]).json_body["code"] == 200
    assert get(client, f"/user/{user['id']}", user["token"]).json_body == ENDED
    assert connect(user["token"], "c-ended") == 401
    revocation.forget()
    assert get(client, f"/user/{user['id']}", user["token"]).status_code == 401
    assert get(client, f"/user/{user['id']}", other_device).json_body["code"] == 200
    assert connect(other_device, "c-live") == 200


def test_logout_of_one_device_closes_the_sockets_that_token_opened_and_no_other(client, sender):
    user = register(client)
    other_device = login(client, user)
    assert connect(user["token"], "this-tab") == 200
    assert connect(user["token"], "this-second-tab") == 200
    assert connect(other_device, "other-tab") == 200
    assert post_form(client, "/auth/logout", {}, user["token"]).json_body["code"] == 200
    assert sorted(sender.closed) == ["this-second-tab", "this-tab"]
    assert [frame["msg_code"] for frame in sender.frames_for("this-tab")] == [2004]
    assert sender.frames_for("other-tab") == []


def test_connecting_costs_no_extra_call_for_remembering_the_token(client, aws_calls):
    user = register(client)
    connect(user["token"], "warm")  # the first connect of a process reads nothing more; counted from here
    aws_calls.reset()
    assert connect(user["token"], "counted") == 200
    assert dict(aws_calls.calls) == {"dynamodb.TransactWriteItems": 1, "dynamodb.UpdateItem": 1}


def test_logout_on_all_devices_ends_every_token_and_closes_the_sockets(client, sender):
    user = register(client)
    other_device = login(client, user)
    assert connect(other_device, "tab-1") == 200
    assert connect(user["token"], "tab-2") == 200
    assert post_form(client, "/auth/logout", {"all_devices": 1}, user["token"]).json_body["code"] == 200
    for token in (user["token"], other_device):
        assert get(client, f"/user/{user['id']}", token).status_code == 401
        assert connect(token, "again") == 401
    assert sorted(sender.closed) == ["tab-1", "tab-2"]
    assert all(frames[-1]["msg_code"] == 2004 for frames in (sender.frames_for("tab-1"), sender.frames_for("tab-2")))
    assert login(client, user)


def test_logout_rejects_a_bad_all_devices_value(client):
    user = register(client)
    answer = post_form(client, "/auth/logout", {"all_devices": 2}, user["token"]).json_body
    assert answer == {"code": 1000, "message": "all_devices must be one of 0, 1", "data": {}}
    assert get(client, f"/user/{user['id']}", user["token"]).json_body["code"] == 200


def test_a_revoked_token_item_expires_with_the_token(client):
    from chalicelib.db import keys
    from chalicelib.db.models import RevokedToken
    from chalicelib.security.tokens import decode_token

    user = register(client)
    post_form(client, "/auth/logout", {}, user["token"])
    claims = decode_token(user["token"])
    item = RevokedToken.get(keys.revoked_token_pk(claims.jti), keys.REVOKED_TOKEN_SK)
    assert item.expires_at == claims.expire_time and item.expires_at > time.time()

"""One JSON line per request and WebSocket event, and no secret or message text in any of them."""
from __future__ import annotations

import json
import time

from chalicelib.ws import handlers
from tests.support.factories import befriend, last_code_for, post_form, random_email, register, ws_event


def test_log_lines_are_structured_and_carry_no_secrets(client, capfd):
    email = random_email()
    post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    code = last_code_for(email)
    post_form(client, "/auth/registered", {"email": email, "name": "loggy", "password": "hunter2secret",
                                           "password_repeat": "hunter2secret", "code": code})
    me = post_form(client, "/auth/login", {"email": email, "password": "hunter2secret"}).json_body["data"]
    friend = register(client)
    befriend(client, dict(me, password="hunter2secret"), friend)
    post_form(client, "/messages/private", {"msg_client_id": 1, "to_id": friend["id"], "msg_type": 1,
                                            "message": "my very private words"}, me["token"])
    handlers.connect(ws_event("$connect", "log-conn", query={"token": me["token"]}))
    handlers.message(ws_event("$default", "log-conn", body='{"msg_code":1004}',
                              connected_at_ms=int(time.time() * 1000) - 60_000))
    output = capfd.readouterr().out
    for secret in (me["token"], "hunter2secret", code, "my very private words"):
        assert secret not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    http = [line for line in lines if line.get("kind") == "http"]
    assert {"request_id", "route", "user_id", "code", "latency_ms", "aws_calls"} <= set(http[-1])
    send_line = next(line for line in http if line["route"] == "POST /messages/private")
    assert send_line["user_id"] == me["id"] and send_line["code"] == 200
    assert send_line["aws_calls"] >= 2  # at least its read and its transaction (pushes are the delivery's)
    heartbeat = next(line for line in lines if line.get("kind") == "ws" and line["route"] == "$default")
    assert heartbeat["aws_calls"] == 0

"""Test data: random users through the real API, tokens, WebSocket events, request bodies."""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


def random_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def random_name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def form_body(fields: dict[str, Any]) -> bytes:
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if isinstance(value, list):
            pairs.extend((f"{name}[]", str(item)) for item in value)
        else:
            pairs.append((name, str(value)))
    return urlencode(pairs).encode()


def multipart_body(fields: dict[str, Any], files: dict[str, tuple[str, bytes, str]] | None = None
                   ) -> tuple[bytes, dict[str, str]]:
    from urllib3 import encode_multipart_formdata

    parts: list[tuple[str, Any]] = []
    for name, value in fields.items():
        if isinstance(value, list):
            parts.extend((f"{name}[]", str(item)) for item in value)
        else:
            parts.append((name, str(value)))
    for name, (filename, data, content_type) in (files or {}).items():
        parts.append((name, (filename, data, content_type)))
    body, content_type = encode_multipart_formdata(parts)
    return body, {"content-type": content_type}


def post_form(client: Client, path: str, fields: dict[str, Any], token: str | None = None,
              method: str = "post") -> Any:
    headers = dict(FORM)
    if token:
        headers["authorization"] = f"Bearer {token}"
    return getattr(client.http, method)(path, headers=headers, body=form_body(fields))


def get(client: Client, path: str, token: str | None = None, **query: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if query:
        path = f"{path}?{urlencode(query)}"
    return client.http.get(path, headers=headers)


def last_code_for(email: str) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    for message in reversed(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages):
        if email in json.dumps(getattr(message, "destinations", {})):
            found = re.search(r"\b(\d{6})\b", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"no code was emailed to {email}")


def register(client: Client, email: str | None = None, name: str | None = None,
             password: str = "secret123") -> dict[str, Any]:
    """Registers and logs in through the API; returns the login data (id, token, …)."""
    email = email or random_email()
    name = name or random_name()
    with from_source(client, f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"):
        # each test user registers from its own address, as people do, so the per-source email limits stay out of
        # tests that need many users (tests/api/test_auth.py attacks those limits)
        sent = post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1}).json_body
    assert sent["code"] == 200, sent
    code = last_code_for(email)
    registered = post_form(client, "/auth/registered", {
        "email": email, "name": name, "password": password, "password_repeat": password, "code": code}).json_body
    assert registered["code"] == 200, registered
    login = post_form(client, "/auth/login", {"email": email, "password": password}).json_body
    assert login["code"] == 200, login
    return dict(login["data"], password=password)


def ws_event(route_key: str, connection_id: str, *, body: str | None = None, query: dict[str, str] | None = None,
             connected_at_ms: int = 0) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key, "eventType": event_type, "connectionId": connection_id,
            "domainName": "ws.test.execute-api.us-east-1.amazonaws.com", "stage": "api", "apiId": "wstest",
            "requestId": uuid.uuid4().hex, "connectedAt": connected_at_ms,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    if query is not None:
        event["queryStringParameters"] = query
    return event


def befriend(client: Client, a: dict[str, Any], b: dict[str, Any]) -> None:
    """a asks, b accepts, through the API."""
    asked = post_form(client, "/friends/record", {"to_id": b["id"], "information": "hi"}, a["token"]).json_body
    assert asked["code"] == 200, asked
    answered = post_form(client, "/friends/record", {"id": asked["data"]["id"], "status": 1}, b["token"],
                         method="put").json_body
    assert answered["code"] == 200, answered


def delete(client: Client, path: str, token: str) -> Any:
    return client.http.delete(path, headers={"authorization": f"Bearer {token}"})


def check_token_once(client: Client, token: str) -> None:
    """The first request a process sees with a token reads whether it was ended (1 BatchGetItem, then cached for
    60 s); call budgets measure the requests after it, and tests/perf/test_auth_budgets.py gates that first read."""
    assert get(client, "/sessions", token).status_code == 200


@contextmanager
def from_source(client: Client, source_ip: str) -> Iterator[None]:
    """This client's requests arrive from `source_ip` (requestContext.identity.sourceIp; chalice's test gateway
    otherwise always says 127.0.0.1)."""
    converter = client.http._local_gateway.event_converter
    previous = vars(converter).get("LOCAL_SOURCE_IP")
    converter.LOCAL_SOURCE_IP = source_ip
    try:
        yield
    finally:
        if previous is None:
            del converter.LOCAL_SOURCE_IP
        else:
            converter.LOCAL_SOURCE_IP = previous


def connect(user_id: int, connection_id: str) -> None:
    """A socket just opened (`$connect` with a fresh token): its kept frames are not replayed yet."""
    from chalicelib.security.tokens import issue_token
    from chalicelib.ws import handlers

    handlers.connect(ws_event("$connect", connection_id, query={"token": issue_token(user_id, "u", "n").token}))


def first_ping(connection_id: str) -> None:
    """The client's first heartbeat, which replays the frames kept for its user."""
    from chalicelib.ws import handlers

    handlers.message(ws_event("$default", connection_id, body='{"msg_code":1004,"message":"ping"}',
                              connected_at_ms=int(time.time() * 1000)))


def online(user_id: int, connection_id: str) -> None:
    """A client that connected and caught up: its first heartbeat replayed what was kept for it (bot greetings,
    friend requests), which the recording sender then sets aside, so a test sees only what comes after."""
    from chalicelib.realtime.sender import get_sender

    connect(user_id, connection_id)
    first_ping(connection_id)
    get_sender().forget(connection_id)  # type: ignore[attr-defined]  # the tests' RecordingSender

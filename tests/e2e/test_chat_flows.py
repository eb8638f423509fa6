"""Friends, private and group chat, recall and files over the local stack with real HTTP and WebSockets."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import RunningStack
from tests.e2e.test_local_stack import PASSWORD, _emailed_code, _ok

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"e2e-image-bytes"


class User:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        email = f"flow-{uuid.uuid4().hex[:10]}@example.com"
        _ok(stack, requests.post(f"{stack.http_url}/auth/sendEmailCode",
                                 files={"email": (None, email), "email_type": (None, "1")}, timeout=10))
        code = _emailed_code(stack, email)
        _ok(stack, requests.post(f"{stack.http_url}/auth/registered", timeout=10, files={
            "email": (None, email), "name": (None, f"f{uuid.uuid4().hex[:8]}"), "password": (None, PASSWORD),
            "password_repeat": (None, PASSWORD), "code": (None, code)}))
        login = _ok(stack, requests.post(f"{stack.http_url}/auth/login", timeout=10,
                                         files={"email": (None, email), "password": (None, PASSWORD)}))
        self.id, self.token, self.email = int(login["id"]), login["token"], email

    def call(self, method: str, path: str, **fields: Any) -> Any:
        """Form fields as multipart, the way the web client sends them (`name[]` for lists)."""
        parts = [(f"{key}[]" if isinstance(value, list) else key, (None, str(item)))
                 for key, value in fields.items() for item in (value if isinstance(value, list) else [value])]
        response = requests.request(method, f"{self.stack.http_url}{path}", timeout=10,
                                    headers={"Authorization": f"Bearer {self.token}"},
                                    files=parts if method in ("POST", "PUT") and parts else None,
                                    params=fields if method in ("GET", "DELETE") else None)
        return _ok(self.stack, response)

    @contextmanager
    def socket(self) -> Iterator[ClientConnection]:
        with connect(f"{self.stack.ws_url}/im/connect?token={self.token}", open_timeout=5) as client:
            client.send(json.dumps({"msg_code": 1004, "message": "ping"}))  # the first frame replays kept events
            yield client


def frames(client: ClientConnection, count: int, timeout: float = 5) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        try:
            raw = client.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        if raw:
            received.append(json.loads(raw))
    return received


def without_bot(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame for frame in received if frame.get("form_id") != 1]


def test_friends_private_chat_recall_and_offline_delivery(stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    with a.socket() as a_socket, b.socket() as b_socket:
        frames(a_socket, 2, 2), frames(b_socket, 2, 2)  # the bot's greetings
        record = a.call("POST", "/friends/record", to_id=b.id, information="hi")
        (request,) = without_bot(frames(b_socket, 1))
        assert request["msg_code"] == 1000 and request["users"]["id"] == a.id
        b.call("PUT", "/friends/record", id=record["id"], status=1)
        (accepted,) = frames(a_socket, 1)
        assert accepted["msg_code"] == 1001 and accepted["users"]["id"] == b.id
        (a_session,) = [s for s in a.call("GET", "/sessions") if s["to_id"] == b.id]
        assert (accepted["id"], accepted["form_id"], accepted["to_id"]) == (a_session["id"], a.id, b.id)
        assert any(s["to_id"] == a.id for s in b.call("GET", "/sessions"))
        with b.socket() as b_second:
            frames(b_second, 5, 1)
            text = 'quotes " backslash \\ newline \n emoji 🎉'
            sent = a.call("POST", "/messages/private", msg_client_id=1, to_id=b.id, msg_type=1, message=text)
            for client in (b_socket, b_second):
                (chat,) = frames(client, 1)
                assert chat["msg_code"] == 200 and chat["message"] == text and chat["id"] == sent["id"]
            a.call("POST", "/messages/recall", to_id=b.id, id=sent["id"])
            for client in (b_socket, b_second):
                assert frames(client, 1)[0]["msg_code"] == 1007
    for number in range(3):
        a.call("POST", "/messages/private", msg_client_id=100 + number, to_id=b.id, msg_type=1, message=f"m{number}")
    with b.socket() as b_late:
        late = [f["message"] for f in frames(b_late, 3) if f.get("msg_code") == 200]
        assert late == ["m0", "m1", "m2"]
        assert frames(b_late, 1, 1) == []  # each exactly once


def test_group_chat_reaches_every_socket_and_stops_after_leaving(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    for friend in (b, c):
        record = owner.call("POST", "/friends/record", to_id=friend.id, information="hi")
        friend.call("PUT", "/friends/record", id=record["id"], status=1)
    group = owner.call("POST", "/groups/store", name="e2e group", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    with owner.socket() as owner_socket, b.socket() as b_one, b.socket() as b_two:
        for client in (owner_socket, b_one, b_two):
            frames(client, 10, 1)
        b.call("POST", "/messages/private", msg_client_id=7, to_id=group["id"], channel_type=2, msg_type=1,
               message="hello group")
        for client, recipient in ((owner_socket, owner), (b_one, b), (b_two, b)):
            chats = [f for f in frames(client, 1) if f.get("msg_code") == 200]
            assert [(f["message"], f["user_id"]) for f in chats] == [("hello group", recipient.id)]
        c.call("DELETE", f"/groups/{group['id']}")
        owner.call("POST", "/messages/group", msg_client_id=8, to_id=group["id"], msg_type=1, message="after")
    with c.socket() as c_socket:
        received = [f.get("message") for f in frames(c_socket, 20, 2) if f.get("msg_code") == 200]
        assert "after" not in received and "hello group" in received  # kept while offline, nothing after leaving


def test_uploaded_file_url_serves_the_same_bytes(stack: RunningStack) -> None:
    user = User(stack)
    response = requests.post(f"{stack.http_url}/upload/file", headers={"Authorization": f"Bearer {user.token}"},
                             files={"file": ("picture.exe", PNG, "application/octet-stream")}, timeout=10)
    uploaded = _ok(stack, response)
    assert uploaded["content_type"] == "image/png" and uploaded["file_url"].startswith("http://127.0.0.1")
    assert requests.get(uploaded["file_url"], timeout=10).content == PNG

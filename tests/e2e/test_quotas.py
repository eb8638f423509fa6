"""Per-account quotas over the local stack (README *Limits*): parallel sends, a group's fan-out, uploads and a
flooding WebSocket, with real HTTP and sockets. The stack runs with small quotas and small groups and messages (the
least capacity the settings accept follows the largest group send and presigned file)."""
from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import PNG, User, frames

pytestmark = pytest.mark.e2e

STACK_ENVIRONMENT = {
    "GROUP_SIZE_LIMIT": "3", "MESSAGE_MAX_CHARS": "100", "MAX_PRESIGNED_UPLOAD_BYTES": str(2 * 1024 * 1024),
    "QUOTA_MESSAGES": "36/1",  # three private messages (12 units each), or a new group of 3 (20) and one send (14)
    "QUOTA_UPLOADS": "4/1",  # two small files (2 units each)
    "QUOTA_WS_FRAMES": "5/1",
}


def befriend(a: User, b: User) -> None:
    record = a.call("POST", "/friends/record", to_id=b.id, information="hi")
    b.call("PUT", "/friends/record", id=record["id"], status=1)


def post(user: User, path: str, **fields: Any) -> requests.Response:
    return requests.post(f"{user.stack.http_url}{path}", headers={"Authorization": f"Bearer {user.token}"},
                         files={key: (None, str(value)) for key, value in fields.items()}, timeout=10)


def refused(response: requests.Response, what: str) -> bool:
    envelope = response.json()
    return (response.status_code == 200 and envelope["code"] == 429 and envelope["message"].startswith(what)
            and int(response.headers["Retry-After"]) > 0)


def test_a_parallel_burst_of_sends_gets_exactly_the_quota_and_delivers_only_those(stack: RunningStack) -> None:
    sender, friend, other = User(stack), User(stack), User(stack)
    befriend(sender, friend)
    befriend(other, friend)
    with friend.socket() as socket:
        frames(socket, 10, 1)  # the bot's greetings and the friend events
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda n: post(sender, "/messages/private", msg_client_id=1000 + n,
                                                   to_id=friend.id, msg_type=1, message=f"burst {n}"), range(8)))
        accepted = [answer.json()["data"]["id"] for answer in answers if answer.json()["code"] == 200]
        assert len(accepted) == 3
        assert sum(refused(answer, "too many messages; please try again in") for answer in answers) == 5
        chats = [f for f in frames(socket, 4, 3) if f.get("msg_code") == 200 and f.get("form_id") == sender.id]
        assert sorted(chat["id"] for chat in chats) == sorted(accepted)
        history = sender.call("GET", "/messages", to_id=friend.id)["list"]
        assert len([item for item in history if item["form_id"] == sender.id]) == 3  # nothing stored for a refusal
        other.call("POST", "/messages/private", msg_client_id=1, to_id=friend.id, msg_type=1, message="me too")


def test_a_group_send_is_charged_by_its_fan_out(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="quota group", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])  # 10 + 1 × (1 + 3 × 3) = 20 units; 16 left
    with b.socket() as b_socket:
        frames(b_socket, 10, 1)
        owner.call("POST", "/messages/group", msg_client_id=1, to_id=group["id"], msg_type=1, message="one")  # 14
        assert refused(post(owner, "/messages/group", msg_client_id=2, to_id=group["id"], msg_type=1,
                            message="two"), "too many messages")
        received = [f["message"] for f in frames(b_socket, 2, 3) if f.get("msg_code") == 200]
        assert received == ["one"]
    b.call("POST", "/messages/group", msg_client_id=1, to_id=group["id"], msg_type=1, message="mine")  # b's quota


def test_uploads_count_presigned_ones_too(stack: RunningStack) -> None:
    user = User(stack)

    def upload(n: int) -> requests.Response:
        return requests.post(f"{stack.http_url}/upload/file", headers={"Authorization": f"Bearer {user.token}"},
                             files={"file": (f"p{n}.png", PNG, "image/png")}, timeout=10)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(upload, range(5)))
    assert [answer.json()["code"] for answer in answers].count(200) == 2
    presign = requests.post(f"{stack.http_url}/upload/presign", timeout=10,
                            headers={"Authorization": f"Bearer {user.token}", "content-type": "application/json"},
                            data=json.dumps({"name": "v.png", "size": 1024, "content_type": "image/png"}))
    assert refused(presign, "too many uploads")


def test_a_flooding_socket_is_closed_with_a_clear_frame_and_the_other_stays(stack: RunningStack) -> None:
    user = User(stack)
    with user.socket() as calm, user.socket() as flood:  # each sent one heartbeat on opening
        frames(calm, 5, 1)
        received: list[dict[str, Any]] = []
        for _ in range(20):
            with contextlib.suppress(ConnectionClosed):  # closed while sending: its frames are still buffered
                flood.send(json.dumps({"msg_code": 1004, "message": "ping"}))
        with pytest.raises(ConnectionClosed):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                raw = flood.recv(timeout=max(0.05, deadline - time.monotonic()))
                received.append(json.loads(raw))
        notice = [frame for frame in received if frame.get("msg_code") == 2006]
        assert notice and "sent frames faster than allowed" in notice[0]["message"]
        calm.send(json.dumps({"msg_code": 1004, "message": "ping"}))
        assert frames(calm, 1, 1) == []  # a heartbeat gets no reply, and this socket stays open
        calm.send(json.dumps({"msg_code": 1004, "message": "ping"}))

"""A send answers once its message is committed: it never waits for the fan-out, however slow the recipients."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames
from tests.e2e.test_delivery_order import befriend

pytestmark = pytest.mark.e2e

STACK_ENVIRONMENT = {"LOCAL_WS_POST_DELAY_SECONDS": "2"}  # every push to a socket takes 2 s


class Arrivals(threading.Thread):
    """Reads a socket as frames come, noting when each chat frame arrived."""

    def __init__(self, client: ClientConnection, expected: int) -> None:
        super().__init__(daemon=True)
        self.client, self.expected = client, expected
        self.chats: list[tuple[float, dict[str, Any]]] = []

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while len(self.chats) < self.expected and time.monotonic() < deadline:
            try:
                frame = json.loads(self.client.recv(timeout=1))
            except TimeoutError:
                continue
            if frame.get("msg_code") == 200:
                self.chats.append((time.monotonic(), frame))


def test_sends_answer_before_their_frames_reach_slow_recipients(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b), befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="slow", info="slow sockets", avatar="https://x/a.png",
                       select_user=[b.id, c.id])
    with b.socket() as b_socket, c.socket() as c_socket:
        for client in (b_socket, c_socket):
            while frames(client, 1, 5):  # the kept setup frames, 2 s each
                pass
        b_arrivals, c_arrivals = Arrivals(b_socket, 3), Arrivals(c_socket, 2)
        b_arrivals.start(), c_arrivals.start()
        answered = []
        for n, (to_id, channel_type) in enumerate([(b.id, 1), (group["id"], 2), (group["id"], 2)]):
            owner.call("POST", "/messages/private", msg_client_id=500 + n, to_id=to_id, channel_type=channel_type,
                       msg_type=1, message=f"slow {n}")
            answered.append(time.monotonic())
        b_arrivals.join(), c_arrivals.join()
    # two conversations: each in order, the private one and the group's delivered side by side
    assert [frame["message"] for _, frame in b_arrivals.chats if frame["channel_type"] == 1] == ["slow 0"]
    assert [frame["message"] for _, frame in b_arrivals.chats if frame["channel_type"] == 2] == ["slow 1", "slow 2"]
    assert [frame["message"] for _, frame in c_arrivals.chats] == ["slow 1", "slow 2"]
    first_arrival = min(arrived for arrived, _ in b_arrivals.chats + c_arrivals.chats)
    assert max(answered) < first_arrival, "all three sends answered before the first of their pushes arrived"

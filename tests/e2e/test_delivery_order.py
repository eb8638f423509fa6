"""The stream-driven delivery over the local stack: frames of one conversation reach every socket in `id` order,
kept frames included, however the sends overlap."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames

pytestmark = pytest.mark.e2e

PER_SENDER = 25


def befriend(one: User, other: User) -> None:
    record = one.call("POST", "/friends/record", to_id=other.id, information="hi")
    other.call("PUT", "/friends/record", id=record["id"], status=1)


def chats_in(client: ClientConnection, conversation: dict[str, int], count: int, timeout: float = 30) -> list[int]:
    """The `id`s of the chat frames of one conversation, in arrival order, until `count` arrived."""
    ids: list[int] = []
    while len(ids) < count:
        received = frames(client, 1, timeout)
        if not received:
            break
        ids += [frame["id"] for frame in received if frame.get("msg_code") == 200
                and all(frame.get(field) == value for field, value in conversation.items())]
    return ids


def send_many(sender: User, count: int, **target: Any) -> list[int]:
    """`count` sends one after another (each waits for its answer); the ids they were answered."""
    return [int(sender.call("POST", "/messages/private", msg_client_id=sender.id * 1000 + n, msg_type=1,
                            message=f"{sender.id}:{n}", **target)["id"]) for n in range(count)]


def interleave(*senders: tuple[User, dict[str, Any]]) -> list[int]:
    start = threading.Barrier(len(senders))

    def run(sender: User, target: dict[str, Any]) -> list[int]:
        start.wait()
        return send_many(sender, PER_SENDER, **target)

    with ThreadPoolExecutor(len(senders)) as pool:
        return [sent for answered in pool.map(lambda pair: run(*pair), senders) for sent in answered]


def test_two_senders_interleaving_in_a_group_reach_every_socket_in_id_order(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b), befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="order", info="in order", avatar="https://x/a.png",
                       select_user=[b.id, c.id])
    with owner.socket() as owner_socket, b.socket() as b_socket, c.socket() as c_one, c.socket() as c_two:
        sockets = [owner_socket, b_socket, c_one, c_two]
        for client in sockets:
            frames(client, 20, 1)  # greetings, friend and session frames of the setup
        target = {"to_id": group["id"], "channel_type": 2}
        sent = interleave((owner, target), (b, target))
        assert len(set(sent)) == 2 * PER_SENDER
        for client in sockets:
            arrived = chats_in(client, {"to_id": group["id"], "channel_type": 2}, len(sent))
            assert arrived == sorted(sent), "every socket sees each message once, in id order"


def test_two_senders_interleaving_privately_see_each_other_in_id_order(stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    befriend(a, b)
    with a.socket() as a_socket, b.socket() as b_socket:
        frames(a_socket, 10, 1), frames(b_socket, 10, 1)
        sent = interleave((a, {"to_id": b.id, "channel_type": 1}), (b, {"to_id": a.id, "channel_type": 1}))
        sent_by_a, sent_by_b = sent[:PER_SENDER], sent[PER_SENDER:]
        assert chats_in(b_socket, {"form_id": a.id}, PER_SENDER) == sent_by_a  # each side answered in order too
        assert chats_in(a_socket, {"form_id": b.id}, PER_SENDER) == sent_by_b
        assert sorted(sent) == list(range(min(sent), min(sent) + 2 * PER_SENDER)), "one conversation, no gaps"


def test_a_new_socket_gets_its_kept_frames_before_newer_ones(stack: RunningStack) -> None:
    """Frames kept while offline come first even when new frames are delivered before the socket's first
    heartbeat (which replays them): the delivery that finds the new socket replays them to it first."""
    a, b = User(stack), User(stack)
    befriend(a, b)
    target = {"to_id": b.id, "channel_type": 1}
    kept = send_many(a, 3, **target)
    with connect(f"{stack.ws_url}/im/connect?token={b.token}", open_timeout=5) as b_socket:  # no heartbeat yet
        newer = [int(a.call("POST", "/messages/private", msg_client_id=9000 + n, msg_type=1, message=f"new {n}",
                            **target)["id"]) for n in range(3)]
        arrived = chats_in(b_socket, {"form_id": a.id}, 6, timeout=10)
        b_socket.send(json.dumps({"msg_code": 1004, "message": "ping"}))
        arrived += chats_in(b_socket, {"form_id": a.id}, 6 - len(arrived), timeout=3) if len(arrived) < 6 else []
    assert arrived == kept + newer

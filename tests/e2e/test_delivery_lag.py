"""The delivery running 30 s behind the writes (the local stream reader's lag, like a Lambda iterator age): a socket
that opens while frames for it are kept gets them before any newer frame, however old the socket is by the time
the newer frames are delivered."""
from __future__ import annotations

import time

import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User
from tests.e2e.test_delivery_order import befriend, chats_in

pytestmark = pytest.mark.e2e

LAG_SECONDS = 30
STACK_ENVIRONMENT = {"LOCAL_DELIVERY_LAG_SECONDS": str(LAG_SECONDS)}
OLD_WINDOW_SECONDS = 15  # the replay window deliveries once trusted: the newer frame arrives later than that


def kept_frames(stack: RunningStack, user_id: int) -> int:
    return stack.aws("dynamodb").query(
        TableName=stack.table, ConsistentRead=True, KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":p": {"S": "PENDING#"}})["Count"]


def send(sender: User, to: User, number: int) -> int:
    return int(sender.call("POST", "/messages/private", msg_client_id=number, msg_type=1, message=f"m{number}",
                           to_id=to.id, channel_type=1)["id"])


def test_a_socket_opened_while_its_frames_are_kept_gets_them_before_newer_ones_30_s_behind(
        stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    befriend(a, b)
    written = time.monotonic()
    first = send(a, b, 1)  # delivered 30 s from now, while b has no socket: kept
    time.sleep(OLD_WINDOW_SECONDS + 1)
    second = send(a, b, 2)  # delivered 30 s from now: b's socket is then 15 s old and has sent nothing
    deadline = written + LAG_SECONDS + 20
    while kept_frames(stack, b.id) < 3 and time.monotonic() < deadline:  # the greeting, the request, m1
        time.sleep(0.5)
    assert kept_frames(stack, b.id) >= 3, "m1 was kept while b had no socket"
    with connect(f"{stack.ws_url}/im/connect?token={b.token}", open_timeout=5) as b_socket:  # no heartbeat
        opened = time.monotonic()
        arrived = chats_in(b_socket, {"form_id": a.id}, 2, timeout=LAG_SECONDS + 10)
        assert time.monotonic() - opened > OLD_WINDOW_SECONDS - 2, "m2 came when the socket was no longer new"
    assert arrived == [first, second]
    # the replayer deletes what it posted after posting it: the frames can arrive a moment before the delete lands
    deadline = time.monotonic() + 10
    while kept_frames(stack, b.id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kept_frames(stack, b.id) == 0

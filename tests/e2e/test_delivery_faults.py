"""The delivery function killed mid-batch: the mapping retries, and every message still reaches its recipient,
in order (a retried batch may push a frame again, with the same `id`)."""
from __future__ import annotations

import pytest

from infra.local.faults import KILL_RATE_VARIABLE
from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames
from tests.e2e.test_delivery_order import PER_SENDER, befriend, interleave

pytestmark = pytest.mark.e2e

# 0.3 ** 11 (a record's batch killed on every attempt the mapping allows) is below 1e-5 per record
STACK_ENVIRONMENT = {KILL_RATE_VARIABLE: "0.3"}


def first_arrivals(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def test_every_message_arrives_in_order_while_the_delivery_function_keeps_dying(stack: RunningStack) -> None:
    a, b, c = User(stack), User(stack), User(stack)
    befriend(a, b), befriend(a, c)
    group = a.call("POST", "/groups/store", name="kills", info="dying", avatar="https://x/a.png",
                   select_user=[b.id, c.id])
    with b.socket() as b_socket:
        frames(b_socket, 20, 1)
        target = {"to_id": group["id"], "channel_type": 2}
        sent = interleave((a, target), (c, target))
        received: list[int] = []
        while not set(sent) <= set(received):
            batch = frames(b_socket, 1, 30)
            if not batch:
                break
            received += [f["id"] for f in batch if f.get("msg_code") == 200 and f.get("to_id") == group["id"]]
        offline_kept = a.call("POST", "/messages/private", msg_client_id=77, to_id=c.id, channel_type=1,
                              msg_type=1, message="kept while c is offline")
    assert first_arrivals(received) == sorted(sent), "none lost, in id order"
    assert len(sent) == 2 * PER_SENDER
    with c.socket() as c_socket:
        kept = [f for f in frames(c_socket, 200, 5) if f.get("msg_code") == 200 and f.get("channel_type") == 1
                and f.get("form_id") == a.id]
    assert [f["id"] for f in kept][:1] == [offline_kept["id"]]
    assert "delivery handler killed" in stack.output(), "the fault was injected"

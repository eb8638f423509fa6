"""A reconnect storm: members of one group, each with frames kept, open their sockets at once while a new group
message is sent. Replays of different users never wait for each other and the delivery never waits behind a
replay it does not need, so the new message reaches every socket within seconds, after its kept frames."""
from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import RunningStack
from tests.perf.reconnect_storm import storm

pytestmark = pytest.mark.e2e

MEMBERS = 25
KEPT = 5


def test_a_reconnect_storm_does_not_stall_the_next_message(stack: RunningStack) -> None:
    result = asyncio.run(storm(stack, MEMBERS, KEPT))
    print(f"storm: last arrival {result.last_arrival:.2f} s, median {result.median_arrival:.2f} s")
    assert result.reached == MEMBERS and result.in_order == MEMBERS, \
        "every socket: its kept messages, then the new one, each once"
    # the target through `make bench` is 2 s for 200 members; this machine is shared, so the gate leaves room,
    # far below the minute the storm used to stall for
    assert result.last_arrival < 10, result

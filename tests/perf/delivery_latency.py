"""`make bench`: what delivery through the table's stream adds, measured on the local stack.

The stack runs as `make run` does (`python -m infra.local.stack` on free ports, no faults). Two friends; the
recipient has one socket open; the other sends private messages one at a time, each after the previous frame
arrived. Per send: (a) the HTTP answer's time and (b) the time from the send's start to the frame's arrival on the
recipient's socket. b − a is the delivery after the answer: the stream poll, the delivery function, the push.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from infra.load.api import Api
from infra.load.model import World
from infra.load.setup import make_friends, register_users
from infra.local.child import ChildStack

WARM_UP_SENDS = 5
FRAME_TIMEOUT = 10.0
CHAT = 200


@dataclass(frozen=True)
class Timing:
    answered: float  # seconds from the send's start to its HTTP answer
    arrived: float  # seconds from the send's start to the frame on the recipient's socket


async def _frame_arrival(world: World, recipient: int, seq: int) -> float:
    deadline = time.monotonic() + FRAME_TIMEOUT
    while time.monotonic() < deadline:
        for received in world.received:
            frame = received.frame
            if received.user_id == recipient and frame.get("msg_code") == CHAT and frame.get("id") == seq:
                return received.at
        await asyncio.sleep(0.005)  # arrival times are taken by the socket's reader, not by this loop
    raise TimeoutError(f"frame id {seq} did not reach the recipient within {FRAME_TIMEOUT} s")


async def _timings(stack: ChildStack, sends: int) -> list[Timing]:
    world = World()
    async with aiohttp.ClientSession() as session:
        api = Api(session, stack.http_url)
        await register_users(api, stack.aws_url, stack.ws_url, world, 2, 2)
        await make_friends(api, world, 1)
        sender, recipient = (world.users[user_id] for user_id in sorted(world.users))
        await recipient.socket.open()
        timings = []
        try:
            for index in range(WARM_UP_SENDS + sends):
                started = time.monotonic()
                answer = await api.call("POST", "/messages/private", sender.token, json={
                    "msg_client_id": 2_000_001 + index, "to_id": recipient.id, "channel_type": 1, "msg_type": 1,
                    "message": f"bench {index}"})
                answered = time.monotonic()
                if not answer.ok:
                    raise RuntimeError(f"send {index} answered {answer.kind}: {answer.message}")
                arrived = await _frame_arrival(world, recipient.id, int(answer.data["id"]))
                if index >= WARM_UP_SENDS:
                    timings.append(Timing(answered - started, arrived - started))
        finally:
            await recipient.socket.close()
    return timings


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return f"p50 {at(0.50):6.1f} ms   p95 {at(0.95):6.1f} ms"


def report(sends: int = 60) -> None:
    with ChildStack({"BCRYPT_ROUNDS": "4"}) as stack:
        timings = asyncio.run(_timings(stack, sends))
    print(f"Delivery through the table's stream (local stack, {sends} private sends one at a time, "
          f"recipient online, {WARM_UP_SENDS} warm-up sends not counted):")
    print(f"  (a) HTTP send answered                {_percentiles([t.answered for t in timings])}")
    print(f"  (b) send start → frame at recipient   {_percentiles([t.arrived for t in timings])}")
    print(f"  delivery after the answer (b − a)     {_percentiles([t.arrived - t.answered for t in timings])}")

"""Traffic: private and group sends from a bounded pool of workers, some recalls, sockets dropped and reopened."""
from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass

from infra.load.api import Api
from infra.load.model import GROUP, PRIVATE, Recall, Sent, World
from infra.load.verify import undelivered


@dataclass(frozen=True)
class TrafficPlan:
    messages: int
    duration: float  # no new send starts after this many seconds
    workers: int = 12
    group_share: float = 0.2
    recall_share: float = 0.03
    drop_every: float = 0.5  # seconds between socket drops (0: none)
    offline_seconds: tuple[float, float] = (0.1, 1.5)
    seed: int = 7


async def run_traffic(api: Api, world: World, plan: TrafficPlan) -> None:
    rng = random.Random(plan.seed)
    client_ids = itertools.count(1_000_001)
    indexes = iter(range(plan.messages))
    deadline = time.monotonic() + plan.duration
    user_ids = sorted(world.users)

    async def worker() -> None:
        for _ in indexes:
            if time.monotonic() > deadline:
                return
            sender = rng.choice(user_ids)
            user = world.users[sender]
            if user.groups and rng.random() < plan.group_share:
                channel, to_id = GROUP, rng.choice(user.groups)
                recipients = frozenset(world.members[to_id])
                path = "/messages/group"
            else:
                channel, to_id = PRIVATE, rng.choice(user.friends)
                recipients = frozenset((to_id,))  # the sender draws its own message from the answer
                path = "/messages/private"
            client_id = next(client_ids)
            started = time.monotonic()
            answer = await api.call("POST", path, user.token, json={
                "msg_client_id": client_id, "to_id": to_id, "channel_type": channel, "msg_type": 1,
                "message": f"load {client_id} from {sender}"}, idempotent=True)
            sent = Sent(sender, channel, to_id, client_id, started, answer, recipients)
            world.sent.append(sent)
            if sent.seq is not None and rng.random() < plan.recall_share:
                recall = await api.call("POST", "/messages/recall", user.token,
                                        json={"to_id": to_id, "id": sent.seq, "channel_type": channel})
                world.recalls.append(Recall(sent, recall))

    stop = asyncio.Event()
    chaos = asyncio.create_task(_drop_sockets(world, plan, rng, stop))
    try:
        await asyncio.gather(*(worker() for _ in range(plan.workers)))
    finally:
        stop.set()
        await chaos


async def _drop_sockets(world: World, plan: TrafficPlan, rng: random.Random, stop: asyncio.Event) -> None:
    """Fault (a): every `drop_every` s one socket closes, stays offline a while (its frames are kept), reopens
    and sends the heartbeat at once. Its id stays registered until `$disconnect` runs: pushes meanwhile get 410."""
    if plan.drop_every <= 0:
        return
    running: set[asyncio.Task[None]] = set()
    busy: set[int] = set()
    while not stop.is_set():
        with_timeout = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({with_timeout}, timeout=plan.drop_every)
        if not done:
            with_timeout.cancel()
        candidates = [user_id for user_id in world.users if user_id not in busy]
        if stop.is_set() or not candidates:
            break
        user_id = rng.choice(candidates)
        busy.add(user_id)
        task = asyncio.create_task(world.users[user_id].socket.drop_and_reopen(rng.uniform(*plan.offline_seconds)))
        task.add_done_callback(lambda _, user_id=user_id: busy.discard(user_id))
        running.add(task)
        world.drops += 1
    await asyncio.gather(*running)


async def settle(world: World, quiet_seconds: float, limit: float) -> None:
    """Waits until no frame arrived for `quiet_seconds` (at most `limit` seconds)."""
    deadline = time.monotonic() + limit
    seen, quiet_since = len(world.received), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if len(world.received) != seen:
            seen, quiet_since = len(world.received), time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return


async def drain(world: World, stall_seconds: float, limit: float) -> None:
    """Waits until every accepted send reached every recipient, or nothing arrived for `stall_seconds` (at most
    `limit` seconds): delivery runs behind the answers, by a backlog that grows with the load."""
    deadline = time.monotonic() + limit
    seen, moving_since = len(world.received), time.monotonic()
    while time.monotonic() < deadline and undelivered(world):
        await asyncio.sleep(0.5)
        if len(world.received) != seen:
            seen, moving_since = len(world.received), time.monotonic()
        elif time.monotonic() - moving_since >= stall_seconds:
            return

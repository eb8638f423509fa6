"""A reconnect storm on the local stack (`make bench`, and tests/e2e/test_delivery_storm.py with fewer members).

The members of one open group each have `kept` group messages kept (sent while they were offline, after they had
caught up). They all open their sockets at once, each sending the heartbeat (which replays what was kept), and the
owner sends one more group message at once. Measured: that send's start → its arrival on the last socket. Checked:
every socket got its kept messages and the new one, each once, in `id` order.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp

from infra.load.api import Api
from infra.load.model import World
from infra.load.report import REPORTS_DIR
from infra.load.setup import bounded, register_users
from infra.local.child import ChildStack

CHAT = 200
LIMIT = 8  # setup calls at a time
WAIT_SECONDS = 120.0
SETUP_WAIT_SECONDS = 600.0
MARKER = 1_000  # the number of the setup's last group message (the storm's are 0 … kept)


@dataclass(frozen=True)
class Storm:
    members: int
    kept: int
    reached: int  # sockets the new message reached within WAIT_SECONDS
    last_arrival: float  # seconds from the new message's send to its arrival on the last socket
    median_arrival: float
    in_order: int  # sockets that got the kept messages and the new one, each once, in id order


async def _send(api: Api, token: str, group_id: int, number: int) -> int:
    answer = await api.call("POST", "/messages/group", token, json={
        "msg_client_id": 5_000_000 + number, "to_id": group_id, "msg_type": 1, "message": f"storm {number}"},
        idempotent=True)
    if not answer.ok:
        raise RuntimeError(f"group send answered {answer.kind}: {answer.message}")
    return int(answer.data["id"])


async def _quiet(world: World, seconds: float) -> None:
    """Until nothing arrived for `seconds`."""
    seen = -1
    while seen != len(world.received):
        seen = len(world.received)
        await asyncio.sleep(seconds)


async def storm(stack: ChildStack, members: int, kept: int) -> Storm:
    world = World()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2 * LIMIT)) as session:
        api = Api(session, stack.http_url)
        await register_users(api, stack.aws_url, stack.ws_url, world, members + 1, LIMIT)
        owner, *others = sorted(world.users)
        token = world.users[owner].token
        created = await api.call("POST", "/groups/store", token, json={
            "name": "storm", "info": "reconnect storm", "avatar": "https://example.com/a.png", "select_user": []})
        group_id = int(created.data["id"])
        # online while they join, so the join notices (one per join, to every member so far) go out live
        await bounded(LIMIT, (world.users[m].socket.open() for m in others))
        joined = await bounded(LIMIT, (api.call("POST", f"/groups/applyJoin/{group_id}", world.users[m].token)
                                       for m in others))
        assert all(answer.ok for answer in joined), [answer.message for answer in joined if not answer.ok]
        await _caught_up(api, world, token, group_id, others)
        await bounded(LIMIT, (world.users[m].socket.close() for m in others))
        kept_ids = [await _send(api, token, group_id, number) for number in range(kept)]
        await _kept_everywhere(stack, others, kept)
        world.received.clear()
        await asyncio.gather(*(world.users[m].socket.open() for m in others))  # the storm
        started = time.monotonic()
        new_id = await _send(api, token, group_id, kept)
        arrivals = await _arrivals(world, set(others), group_id, new_id)
        await _quiet(world, 1.0)
        await asyncio.gather(*(world.users[m].socket.close() for m in others))
    expected = kept_ids + [new_id]
    got: dict[int, list[int]] = {m: [] for m in others}
    for received in world.received:
        frame = received.frame
        if frame.get("msg_code") == CHAT and frame.get("to_id") == group_id and frame.get("form_id") == owner:
            got[received.user_id].append(int(frame["id"]))
    in_order = sum(1 for ids in got.values() if ids == expected and max(Counter(ids).values()) == 1)
    delays = sorted(at - started for at in arrivals.values()) or [float("inf")]
    return Storm(members, kept, len(arrivals), delays[-1], delays[len(delays) // 2], in_order)


async def _caught_up(api: Api, world: World, token: str, group_id: int, members: list[int]) -> None:
    """Until the delivery has delivered everything the setup wrote: one more group message reached every member
    (a conversation's frames reach a socket in order, after whatever was kept before them). Otherwise the storm
    would be measured behind the setup's backlog (200 joins are 20,000 notice frames)."""
    marker = await _send(api, token, group_id, MARKER)
    arrivals = await _arrivals(world, set(members), group_id, marker, SETUP_WAIT_SECONDS)
    if len(arrivals) < len(members):
        raise TimeoutError(f"{len(members) - len(arrivals)} members did not get the setup's last group message "
                           f"within {SETUP_WAIT_SECONDS:.0f} s")
    await _quiet(world, 1.0)


async def _kept_everywhere(stack: ChildStack, users: list[int], kept: int) -> None:
    import boto3

    dynamodb = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                     region_name="us-east-1").client("dynamodb", endpoint_url=stack.aws_url)
    deadline = time.monotonic() + WAIT_SECONDS
    waiting = list(users)
    while waiting and time.monotonic() < deadline:
        waiting = [user_id for user_id in waiting if dynamodb.query(
            TableName=stack.table, ConsistentRead=True, Select="COUNT",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
            ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":p": {"S": "PENDING#"}})["Count"] < kept]
        await asyncio.sleep(0.5)
    if waiting:
        raise TimeoutError(f"{len(waiting)} members did not have {kept} frames kept within {WAIT_SECONDS} s")


async def _arrivals(world: World, members: set[int], group_id: int, message_id: int,
                    wait_seconds: float = WAIT_SECONDS) -> dict[int, float]:
    deadline = time.monotonic() + wait_seconds
    arrivals: dict[int, float] = {}
    while len(arrivals) < len(members) and time.monotonic() < deadline:
        for received in world.received:
            frame = received.frame
            if received.user_id in members and frame.get("msg_code") == CHAT and frame.get("to_id") == group_id \
                    and frame.get("id") == message_id:
                arrivals.setdefault(received.user_id, received.at)
        await asyncio.sleep(0.01)
    return arrivals  # fewer than the members when some never got it in time


def report(members: int = 200, kept: int = 5) -> None:
    with ChildStack({"BCRYPT_ROUNDS": "4", "EMAIL_CODES_PER_SOURCE_HOUR": "1000",
                     "EMAIL_CODES_PER_SOURCE_DAY": "1000"}) as stack:
        try:
            result = asyncio.run(storm(stack, members, kept))
        finally:
            REPORTS_DIR.mkdir(parents=True, exist_ok=True)
            (REPORTS_DIR / "storm-stack.log").write_text(stack.output())
    print(f"Reconnect storm (local stack): {members} members with {kept} kept group messages each open their "
          f"sockets at once; the next group message reached {result.reached}/{members} sockets within "
          f"{WAIT_SECONDS:.0f} s, the last {result.last_arrival:.2f} s after its send (median "
          f"{result.median_arrival:.2f} s; target ≤ 2 s); {result.in_order}/{members} sockets got the kept ones "
          f"first, each once, in id order")

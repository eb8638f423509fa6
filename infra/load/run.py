"""One load run: start the stack, set up, drive traffic with faults, reconnect everyone, verify, report."""
from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import boto3

from infra.load import report as reporting
from infra.load.api import Api
from infra.load.model import World, conversation_key
from infra.load.profile import Profiles
from infra.load.setup import bounded, create_groups, make_friends, open_sockets, register_users
from infra.load.traffic import TrafficPlan, drain, run_traffic, settle
from infra.load.verify import read_conversations, users_with_pending, verify
from infra.local import check_table, faults, strict_dynamodb
from infra.local.child import ChildStack
from infra.local.moto_server import RAW_MOTO_VARIABLE

FAULT_LINE = re.compile(r"faults: (.*)")
CONFLICT_LINE = re.compile(r"conflicts: (.*)")
POST_FAIL_LINE = re.compile(r"^post failures: .*$", re.MULTILINE)
KILLED_LINE = re.compile(r"^delivery: messages handled by killed batches=(.*)$", re.MULTILINE)
DELIVERY_LINE = re.compile(r"^delivery: batches=(\d+) killed=(\d+) dead_letters=(\d+)$", re.MULTILINE)
RECONNECT_ROUNDS = 4
# After the traffic, frames still in the stream's backlog keep arriving: wait for them while they move.
DRAIN_STALL_SECONDS = 15.0
DRAIN_LIMIT_SECONDS = 600.0
BCRYPT_ROUNDS = 4


@dataclass(frozen=True)
class LoadSettings:
    users: int = 100
    messages: int = 5000
    duration: float = 300.0  # cap on the traffic phase
    throttle_rate: float = 0.05
    throttle_last_attempt: bool = False
    conflict_rate: float = 0.05
    delivery_kill_rate: float = 0.02
    delivery_lag: int = 0  # seconds the stream is delivered behind its writes (an iterator age)
    post_fail_rate: float = 0.0  # share of @connections posts answered 500
    drop_every: float = 0.5
    groups: int = 0  # 0: one per 10 users (at least 2)
    http_concurrency: int = 6
    setup_concurrency: int = 8
    quiet_seconds: float = 2.0
    seed: int = 7
    raw_moto: bool = False
    profile: bool = False  # py-spy flame graphs of local AWS and the stack during the traffic (infra/load/profile.py)

    @property
    def group_count(self) -> int:
        return self.groups or max(2, self.users // 10)


async def _drive(stack: ChildStack, settings: LoadSettings, world: World) -> Counter[str]:
    connector = aiohttp.TCPConnector(limit=settings.http_concurrency + settings.setup_concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        api = Api(session, stack.http_url)
        limit = settings.setup_concurrency
        await _phase(world, "register", register_users(api, stack.aws_url, stack.ws_url, world, settings.users, limit))
        await _phase(world, "sockets", open_sockets(world, limit))
        await _phase(world, "friends", make_friends(api, world, limit))
        await _phase(world, "groups", create_groups(api, world, settings.group_count, limit))
        await settle(world, settings.quiet_seconds, 30)
        world.received.clear()  # setup frames (friend requests, group notices) are not part of the verification
        plan = TrafficPlan(settings.messages, settings.duration, settings.http_concurrency,
                           drop_every=settings.drop_every, seed=settings.seed)
        profiles = Profiles(stack) if settings.profile else None
        if profiles is not None:
            profiles.start()
        try:
            await _phase(world, "traffic", run_traffic(api, world, plan))
        finally:
            if profiles is not None:
                for path in await asyncio.to_thread(profiles.stop):
                    print(f"  flame graph: {path}", flush=True)
        await _phase(world, "drain", drain(world, DRAIN_STALL_SECONDS + settings.delivery_lag,
                                                DRAIN_LIMIT_SECONDS))
        await settle(world, settings.quiet_seconds, 30)
        # Every client reconnects and sends its heartbeat: whatever was kept for it is replayed now. Users whose
        # kept events are still in the table (a replay that lost a race or ran late) reconnect again, a few times.
        await _phase(world, "reconnect", _reconnect_until_drained(stack, settings, world))
        await bounded(limit, (user.socket.close() for user in world.users.values()))
        return api.kinds


async def _reconnect_until_drained(stack: ChildStack, settings: LoadSettings, world: World) -> None:
    dynamodb = _dynamodb(stack)
    waiting = sorted(world.users)
    for _ in range(RECONNECT_ROUNDS):
        await bounded(settings.setup_concurrency, (world.users[user_id].socket.drop_and_reopen(0)
                                                   for user_id in waiting))
        await settle(world, settings.quiet_seconds, 60)
        waiting = await asyncio.to_thread(users_with_pending, dynamodb, stack.table, waiting)
        world.pending_left = len(waiting)
        if not waiting:
            return


def _dynamodb(stack: ChildStack) -> Any:
    return boto3.session.Session(aws_access_key_id="load", aws_secret_access_key="load",
                                 region_name="us-east-1").client("dynamodb", endpoint_url=stack.aws_url)


async def _phase(world: World, name: str, job: Any) -> None:
    started = time.monotonic()
    await job
    world.phases[name] = time.monotonic() - started
    print(f"  {name}: {world.phases[name]:.1f} s", flush=True)


def _conversations(world: World) -> set[str]:
    touched = {sent.conversation for sent in world.sent}
    return touched | {conversation_key(2, 0, group_id) for group_id in world.members}


QUOTA_SCALE = 1000  # the simulated users send far faster than people: per-account quotas × this (README *Limits*)


def _stack(settings: LoadSettings) -> ChildStack:
    """The local stack with a cheap bcrypt cost (logins are not what is measured), room for every simulated user
    to ask for an email code from the one source address the run uses, per-account quotas raised (the users act
    at a script's pace, and the quotas are not what is measured), and the run's faults."""
    codes = str(max(100, 2 * settings.users))
    environment = {"BCRYPT_ROUNDS": str(BCRYPT_ROUNDS), "EMAIL_CODES_PER_SOURCE_HOUR": codes,
                   "EMAIL_CODES_PER_SOURCE_DAY": codes, "QUOTA_SCALE": str(QUOTA_SCALE)}
    if settings.raw_moto:
        environment[RAW_MOTO_VARIABLE] = "1"
    if settings.throttle_rate > 0:
        environment[faults.RATE_VARIABLE] = str(settings.throttle_rate)
        environment[faults.LAST_ATTEMPT_VARIABLE] = "1" if settings.throttle_last_attempt else "0"
    if settings.conflict_rate > 0:
        environment[faults.CONFLICT_RATE_VARIABLE] = str(settings.conflict_rate)
    if settings.delivery_kill_rate > 0:
        environment[faults.KILL_RATE_VARIABLE] = str(settings.delivery_kill_rate)
    if settings.delivery_lag > 0:
        environment["LOCAL_DELIVERY_LAG_SECONDS"] = str(settings.delivery_lag)
    if settings.post_fail_rate > 0:
        environment[faults.POST_FAIL_RATE_VARIABLE] = str(settings.post_fail_rate)
    return ChildStack(environment)


def run(settings: LoadSettings) -> tuple[dict[str, Any], list[str]]:
    stack = _stack(settings)
    world = World()
    print(f"load run: {settings}", flush=True)
    with stack:
        print(f"  stack up: http {stack.http_url} ws {stack.ws_url} aws {stack.aws_url}", flush=True)
        kinds = asyncio.run(_drive(stack, settings, world))
        stored = read_conversations(_dynamodb(stack), stack.table, _conversations(world))
        invariants = check_table.check(_dynamodb(stack), stack.table)
    output = stack.output()
    reporting.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    (reporting.REPORTS_DIR / "load-stack.log").write_text(output)
    fault_lines = FAULT_LINE.findall(output)
    conflict_lines = CONFLICT_LINE.findall(output)
    delivery = DELIVERY_LINE.findall(output)
    batches, kills, dead_letters = (int(count) for count in delivery[-1]) if delivery else (0, 0, 0)
    post_failures = POST_FAIL_LINE.findall(output)
    stack_notes = {"exit_code": stack.exit_code, "quota_scale": QUOTA_SCALE,
                   "faults": fault_lines[-1] if fault_lines else "",
                   "post_failures": post_failures[-1] if post_failures else "",
                   "conflicts": conflict_lines[-1] if conflict_lines else "",
                   "delivery_line_printed": bool(delivery), "delivery_batches": batches,
                   "delivery_kills": kills, "dead_letters": dead_letters,
                   "tracebacks": output.count("Traceback (most recent call last)"),
                   "refused_requests": output.count(strict_dynamodb.LOG_MARK),
                   "invariant_violations": invariants[:20], "invariant_violation_count": len(invariants)}
    killed_lines = KILLED_LINE.findall(output)
    findings = verify(world, stored, frozenset(filter(None, killed_lines[-1].split(","))) if killed_lines else None)
    report = reporting.build(world, findings, kinds, asdict(settings), stack_notes)
    return report, reporting.failures(report)

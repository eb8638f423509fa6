"""Setup: register and log in N users, open their sockets, make friends (a ring plus chords), create groups."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Iterable
from typing import TypeVar

from infra.load.api import Answer, Api, emailed_codes
from infra.load.model import User, World
from infra.load.sockets import UserSocket

PASSWORD = "Load-Passw0rd"
T = TypeVar("T")


class SetupError(RuntimeError):
    pass


async def bounded(limit: int, jobs: Iterable[Awaitable[T]]) -> list[T]:
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Awaitable[T]) -> T:
        async with semaphore:
            return await job

    return list(await asyncio.gather(*(run(job) for job in jobs)))


def _require(answer: Answer, what: str) -> dict:
    if not answer.ok:
        raise SetupError(f"{what}: HTTP {answer.status} code {answer.code} {answer.message}")
    return answer.data if isinstance(answer.data, dict) else {}


async def register_users(api: Api, aws_url: str, ws_url: str, world: World, count: int, limit: int) -> None:
    run = uuid.uuid4().hex[:6]
    emails = [f"load-{run}-{index}@example.com" for index in range(count)]
    sent = await bounded(limit, (api.call("POST", "/auth/sendEmailCode", multipart={"email": email, "email_type": "1"})
                                 for email in emails))
    for answer in sent:
        _require(answer, "sendEmailCode")
    codes = await emailed_codes(api.session, aws_url, set(emails))
    missing = set(emails) - codes.keys()
    if missing:
        raise SetupError(f"no email code for {len(missing)} users")

    async def one(index: int, email: str) -> User:
        _require(await api.call("POST", "/auth/registered", form={
            "email": email, "name": f"ld{run}{index}", "password": PASSWORD, "password_repeat": PASSWORD,
            "code": codes[email]}), "register")
        login = _require(await api.call("POST", "/auth/login", json={"email": email, "password": PASSWORD}), "login")
        user_id = int(login["id"])
        return User(user_id, email, login["token"], UserSocket(user_id, login["token"], ws_url, world.received))

    for user in await bounded(limit, (one(index, email) for index, email in enumerate(emails))):
        world.users[user.id] = user


async def open_sockets(world: World, limit: int) -> None:
    await bounded(limit, (user.socket.open() for user in world.users.values()))


def friend_pairs(ids: list[int], offsets: tuple[int, ...] = (1, 2)) -> list[tuple[int, int]]:
    """A ring (offset 1) with chords (offset 2): each user has up to 4 friends."""
    pairs: dict[frozenset[int], tuple[int, int]] = {}
    for offset in offsets:
        for index, user_id in enumerate(ids):
            other = ids[(index + offset) % len(ids)]
            if other != user_id:
                pairs.setdefault(frozenset((user_id, other)), (user_id, other))
    return list(pairs.values())


async def make_friends(api: Api, world: World, limit: int) -> None:
    async def befriend(asker: int, answerer: int) -> None:
        record = _require(await api.call("POST", "/friends/record", world.users[asker].token,
                                         json={"to_id": answerer, "information": "load test"}), "friend request")
        _require(await api.call("PUT", "/friends/record", world.users[answerer].token,
                                json={"id": int(record["id"]), "status": 1}), "accept friend request")
        world.users[asker].friends.append(answerer)
        world.users[answerer].friends.append(asker)

    await bounded(limit, (befriend(a, b) for a, b in friend_pairs(sorted(world.users))))


async def create_groups(api: Api, world: World, count: int, limit: int) -> None:
    ids = sorted(world.users)
    owners = [ids[index * len(ids) // count] for index in range(count)] if count else []

    async def create(owner: int, index: int) -> None:
        friends = world.users[owner].friends
        group = _require(await api.call("POST", "/groups/store", world.users[owner].token, json={
            "name": f"load group {index}", "info": "load test group", "avatar": "https://example.com/a.png",
            "select_user": friends}), "create group")
        group_id = int(group["id"])
        world.members[group_id] = {owner, *friends}
        for member in world.members[group_id]:
            world.users[member].groups.append(group_id)

    await bounded(limit, (create(owner, index) for index, owner in enumerate(owners)))

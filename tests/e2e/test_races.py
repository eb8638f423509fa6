"""Races against the local stack with real concurrency (and 5 % injected transaction conflicts), each followed by
the whole-table invariant check (infra/local/check_table.py)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from infra.local import check_table, faults
from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames

pytestmark = pytest.mark.e2e

STACK_ENVIRONMENT = {faults.CONFLICT_RATE_VARIABLE: "0.05"}
BUSY_RETRIES = 5


def answer(user: User, method: str, path: str, **fields: Any) -> dict[str, Any]:
    """The envelope, repeating a 503 after its Retry-After the way a client does."""
    parts = [(f"{key}[]" if isinstance(value, list) else key, (None, str(item)))
             for key, value in fields.items() for item in (value if isinstance(value, list) else [value])]
    for _ in range(BUSY_RETRIES):
        response = requests.request(method, f"{user.stack.http_url}{path}", timeout=20,
                                    headers={"Authorization": f"Bearer {user.token}"},
                                    files=parts if method in ("POST", "PUT") and parts else None)
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(float(response.headers.get("Retry-After", "1")))
    raise AssertionError(f"{path} stayed busy")


def at_once(calls: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_table_sound(stack: RunningStack) -> None:
    found = check_table.check(stack.aws("dynamodb"), stack.table)
    assert found == [], found


@pytest.fixture(scope="module")
def people(stack: RunningStack) -> list[User]:
    """An owner and twenty others, all friends of the owner."""
    with ThreadPoolExecutor(6) as pool:
        users = list(pool.map(lambda _: User(stack), range(21)))
    owner = users[0]
    for other in users[1:]:
        record = answer(owner, "POST", "/friends/record", to_id=other.id, information="hi")["data"]["id"]
        assert answer(other, "PUT", "/friends/record", id=record, status=1)["code"] == 200
    return users


def make_group(owner: User, members: list[User]) -> int:
    created = answer(owner, "POST", "/groups/store", name="race", info="racing groups", avatar="https://x/a.png",
                     select_user=[member.id for member in members] or [])
    assert created["code"] == 200, created
    return int(created["data"]["id"])


def members_of(user: User, group_id: int) -> list[dict[str, Any]]:
    listed = answer(user, "GET", f"/groups/users/{group_id}")
    return listed["data"]["group_users"] if listed["code"] == 200 else []


@pytest.mark.parametrize("size", [2, 3, 5, 8])
def test_everyone_leaving_at_once_dissolves_the_group(stack, people, size):
    for _ in range(3):
        group_id = make_group(people[0], people[1:size])
        results = at_once([lambda user=user, gid=group_id: answer(user, "DELETE", f"/groups/{gid}")
                           for user in people[:size]])
        assert [result["code"] for result in results] == [200] * size, results
        assert all(group_id not in [g["id"] for g in answer(user, "GET", "/groups/list")["data"]]
                   for user in people[:size])
    assert_table_sound(stack)


def test_leave_against_join(stack, people):
    for _ in range(3):
        group_id = make_group(people[0], [])
        owner_leaves, joins = at_once([lambda gid=group_id: answer(people[0], "DELETE", f"/groups/{gid}"),
                                       lambda gid=group_id: answer(people[5], "POST", f"/groups/applyJoin/{gid}")])
        assert owner_leaves["code"] == 200
        if joins["code"] == 200:  # joined first: the joiner now owns the group alone, or it dissolved after
            assert answer(people[5], "DELETE", f"/groups/{group_id}")["code"] in (200, 1003)
    assert_table_sound(stack)


def test_leave_against_ownership_transfer(stack, people):
    for _ in range(3):
        group_id = make_group(people[0], people[1:4])
        results = at_once([lambda gid=group_id: answer(people[0], "DELETE", f"/groups/{gid}"),
                           lambda gid=group_id: answer(people[1], "DELETE", f"/groups/{gid}")])
        assert [result["code"] for result in results] == [200, 200]
        remaining = members_of(people[2], group_id)
        assert {m["user_id"] for m in remaining} == {people[2].id, people[3].id}
        assert [m["role"] for m in remaining].count("owner") == 1
    assert_table_sound(stack)


def test_removal_against_leave(stack, people):
    for _ in range(3):
        group_id = make_group(people[0], people[1:3])
        removal, leave = at_once([
            lambda gid=group_id: answer(people[0], "POST", "/groups/createOrRemoveUser", group_id=gid, type=2,
                           select_user=[people[1].id]),
            lambda gid=group_id: answer(people[1], "DELETE", f"/groups/{gid}")])
        assert removal["code"] == 200 and leave["code"] in (200, 1003)
        assert {m["user_id"] for m in members_of(people[0], group_id)} == {people[0].id, people[2].id}
    assert_table_sound(stack)


def test_twenty_joins_on_one_group(stack, people):
    group_id = make_group(people[0], [])
    results = at_once([lambda user=user: answer(user, "POST", f"/groups/applyJoin/{group_id}")
                       for user in people[1:]])
    assert [result["code"] for result in results] == [200] * 20
    assert len(members_of(people[0], group_id)) == 21
    assert_table_sound(stack)


def test_friend_accept_from_two_devices(stack, people):
    asker, target = people[19], people[20]
    record = answer(asker, "POST", "/friends/record", to_id=target.id, information="hi")["data"]["id"]
    results = at_once([lambda: answer(target, "PUT", "/friends/record", id=record, status=1)] * 2)
    assert sorted(result["code"] for result in results) == [200, 1000], results
    assert target.id in [f["to_id"] for f in answer(asker, "GET", "/friends")["data"]]
    assert_table_sound(stack)


def test_twenty_members_sending_five_each_at_once_are_all_accepted_and_delivered_in_order(stack, people):
    """Issue 23: 20 senders × 5 messages into one group at the same moment, with conflicts injected. A send's
    sequence is one increment of the head that never waits on another sender: every send answers 200 on its first
    try (no 503 to repeat), the ids are distinct, and a member's socket gets all 100 in id order."""
    owner, senders = people[0], people[1:]
    group_id = make_group(owner, senders)

    def five(user: User) -> list[requests.Response]:
        return [requests.post(f"{stack.http_url}/messages/group", timeout=20,
                              headers={"Authorization": f"Bearer {user.token}"},
                              files={"msg_client_id": (None, str(user.id * 1000 + n)), "to_id": (None, str(group_id)),
                                     "msg_type": (None, "1"), "message": (None, f"{user.id}:{n}")})
                for n in range(5)]

    with owner.socket() as watcher:
        frames(watcher, 1000, timeout=2)  # what was kept for the owner, and the group's own notices
        sent = sum(at_once([lambda user=user: five(user) for user in senders]), [])
        assert [response.status_code for response in sent] == [200] * 100
        ids = sorted(int(response.json()["data"]["id"]) for response in sent)
        assert len(set(ids)) == 100
        chats = [frame["id"] for frame in frames(watcher, 100, timeout=60)
                 if frame.get("msg_code") == 200 and frame.get("to_id") == group_id]
    assert chats == ids
    assert_table_sound(stack)

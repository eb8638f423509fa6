"""Token buckets (GCRA: the bucket is one number, the time at which it would be empty of debt), each use taken
atomically by one conditional UpdateItem before the work. See README *Limits*.

A bucket of `capacity` units refilled at `per_day` units a day stores `due` (microseconds since the epoch): the
moment its debt is paid off.
A use of `cost` units at `now` is allowed when `due - now` leaves room for it, `due` then moves `cost × interval`
later. The bucket is full when `due <= now - capacity × interval` ("full" below). DynamoDB's update expressions
have no max(), so one expression cannot both advance a bucket in use and restart a full one from `full`: there are
two writes, each conditional on its own case (a new bucket fits both), and a use tries the one its case most
likely is. A write whose condition fails answers the stored `due` (ReturnValuesOnConditionCheckFailure), which
says whether the use is refused (no second write) or the other case holds (the other write).

Which write comes first is only a guess, never part of the correctness (the conditions are): this process remembers
the `due` its own last write or refusal saw per bucket, and with no memory guesses "full" (a person's pace leaves
its buckets full between uses). A use whose bucket was last used through this process takes one write; a guess
made stale by another process costs a refused write first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Throttle, tag

DAY_MICROSECONDS = 86_400_000_000
RESTART_ATTEMPTS = 3


class BucketEmpty(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Bucket:
    """`capacity` units at once, refilled at `per_day` units a day: any 24 hours take at most capacity + per_day."""

    capacity: int
    per_day: int

    @property
    def interval(self) -> int:
        """Microseconds per unit: integers, so that many additions never drift past a boundary."""
        return -(-DAY_MICROSECONDS // self.per_day)


_MEMORY_LIMIT = 10_000  # buckets remembered; forgetting only costs a wrong guess
_last_due: dict[str, int] = {}


def _remember(pk: str, due: int) -> None:
    if len(_last_due) >= _MEMORY_LIMIT:
        _last_due.clear()
    _last_due[pk] = due


def forget() -> None:
    """Drop every remembered `due` (tests start each table empty)."""
    _last_due.clear()


def _update(pk: str, sk: str, actions: list[Any], condition: Any,
            return_values: str = "UPDATED_NEW") -> tuple[bool, dict[str, Any]]:
    """One UpdateItem: (True, the attributes `return_values` names) when it went through, (False, the stored item)
    when its condition refused it."""
    connection = Throttle._get_connection().connection
    request = connection.get_operation_kwargs(
        table_name=Throttle.Meta.table_name, hash_key=pk, range_key=sk, actions=actions, condition=condition,
        return_values=return_values)
    request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        answer = connection.client.update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False, error.response.get("Item") or {}
        raise
    return True, answer.get("Attributes") or {}


def _due(item: dict[str, Any]) -> int | None:
    value = item.get("due", {}).get("N")
    return int(value) if value is not None else None


class ItemMissing(Exception):
    """A bucket kept on another item (`spend_on_item`) was used after that item was deleted."""


@conflicts.retrying()
def spend(scope: str, subject: str, bucket: Bucket, cost: int, now: float) -> None:
    """Take `cost` units or raise BucketEmpty with the wait; `cost` above the capacity can never be taken. The bucket
    is an item of its own, created by its first use and deleted (TTL) once it is full again."""
    expires = int(now) + -(-bucket.capacity * bucket.interval // 1_000_000) + 60
    _take(keys.bucket_pk(scope, subject), keys.BUCKET_SK, bucket, cost, now,
          [tag(Throttle), Throttle.expires_at.set(expires)], None, "UPDATED_NEW")


@conflicts.retrying()
def spend_on_item(pk: str, sk: str, bucket: Bucket, cost: int, now: float) -> dict[str, Any]:
    """`spend` for a bucket kept as the `due` of an existing item whose life is the bucket's (a connection's frames,
    on the connection's item): the same one conditional UpdateItem, which also answers the whole item, so the caller
    reads nothing more. ItemMissing when the item does not exist (nothing is written); the item keeps its own TTL."""
    return _take(pk, sk, bucket, cost, now, [], Throttle.PK.exists(), "ALL_NEW")


def _take(pk: str, sk: str, bucket: Bucket, cost: int, now: float, also: list[Any], existing: Any,
          return_values: str) -> dict[str, Any]:
    """The bucket's write (with the `also` actions, on the condition `existing` too, when given); the attributes
    answered."""
    if not 0 < cost <= bucket.capacity:
        raise ValueError(f"a use of {cost} units cannot be taken from a bucket of {bucket.capacity}")
    interval = bucket.interval
    now_us = int(now * 1_000_000)
    full = now_us - bucket.capacity * interval
    latest = now_us - cost * interval  # the latest `due` that leaves room for this use
    remembered = _last_due.get(pk)
    looks_full = remembered is None or remembered < full
    for _ in range(2 * RESTART_ATTEMPTS):
        if looks_full:  # restart from full; due < full, so the new due ≤ now as well
            actions = [Throttle.due.set(full + cost * interval)]
            condition = Throttle.due.does_not_exist() | (Throttle.due < full)
        else:  # advance: due ≤ latest, so the new due ≤ now and the bucket is full again by its TTL
            actions = [Throttle.due.set((Throttle.due | full) + cost * interval)]
            condition = Throttle.due.does_not_exist() | Throttle.due.between(full, latest)
        went, item = _update(pk, sk, also + actions, condition if existing is None else existing & condition,
                             return_values)
        if existing is not None and not went and not item:
            raise ItemMissing(pk)
        due = _due(item)
        if due is not None:
            _remember(pk, due)
        if went:
            return item
        if due is not None and due > latest:
            raise BucketEmpty((due - latest) / 1_000_000)
        looks_full = due is not None and due < full  # the other case holds (as of that answer)
    raise conflicts.LostRace(f"bucket {pk} kept changing")


@conflicts.retrying()
def give_back(scope: str, subject: str, bucket: Bucket, cost: int) -> None:
    """Returns `cost` units a `spend` took for work that was then refused (nothing done): `due` moves back by their
    time in one atomic ADD, so uses made meanwhile keep theirs. A use that restarted the bucket from full gives it
    back full (a `due` before `full` reads as full); a bucket gone (expired) has nothing to give back."""
    item = Throttle(keys.bucket_pk(scope, subject), keys.BUCKET_SK)
    try:
        item.update(actions=[Throttle.due.add(-cost * bucket.interval)], condition=Throttle.due.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return
    _remember(item.PK, int(item.due))

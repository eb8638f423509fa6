"""Token buckets (GCRA: the bucket is one number, the time at which it would be empty of debt), each use taken
atomically by one conditional UpdateItem before the work. See README *Limits*.

A bucket of `capacity` units refilled at `per_day` units a day stores `due` (microseconds since the epoch): the
moment its debt is paid off.
A use of `cost` units at `now` is allowed when `due - now` leaves room for it, `due` then moves `cost × interval`
later. The bucket is full when `due <= now - capacity × interval` ("full" below). DynamoDB's update expressions
have no max(), so one expression cannot both advance a bucket in use and restart a full one from `full`:
the write advances `due` on the condition that the bucket is new or in use, and answers the stored `due` when the
condition fails (ReturnValuesOnConditionCheckFailure), so a refusal needs no read. A bucket that had refilled
completely takes a second write, restarting it from full (its TTL, set to the moment it is full again, usually
deletes it first, and then the one write creates it). A refused use writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

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


def _update(pk: str, actions: list[Any], condition: Any) -> dict[str, Any] | None:
    """One UpdateItem; None when it went through, the stored item when its condition refused it."""
    connection = Throttle._get_connection().connection
    request = connection.get_operation_kwargs(
        table_name=Throttle.Meta.table_name, hash_key=pk, range_key=keys.BUCKET_SK, actions=actions,
        condition=condition)
    request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        connection.client.update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return dict(error.response.get("Item") or {})
        raise
    return None


def _stored_due(item: dict[str, Any]) -> int | None:
    value = item.get("due", {}).get("N")
    return int(value) if value is not None else None


@conflicts.retrying()
def spend(scope: str, subject: str, bucket: Bucket, cost: int, now: float) -> None:
    """Take `cost` units or raise BucketEmpty with the wait; `cost` above the capacity can never be taken."""
    if not 0 < cost <= bucket.capacity:
        raise ValueError(f"a use of {cost} units cannot be taken from a bucket of {bucket.capacity}")
    interval = bucket.interval
    now_us = int(now * 1_000_000)
    full = now_us - bucket.capacity * interval
    latest = now_us - cost * interval  # the latest `due` that leaves room for this use
    expires = int(now) + -(-bucket.capacity * interval // 1_000_000) + 60
    pk = keys.bucket_pk(scope, subject)
    for _ in range(RESTART_ATTEMPTS):
        refused = _update(
            pk,
            # due ≤ latest, so the new due ≤ now and the bucket is full again by now + capacity × interval
            [tag(Throttle), Throttle.due.set((Throttle.due | full) + cost * interval),
             Throttle.expires_at.set(expires)],
            Throttle.due.does_not_exist() | Throttle.due.between(full, latest))
        if refused is None:
            return
        due = _stored_due(refused)
        if due is None or due > latest:
            raise BucketEmpty((cost * interval if due is None else due - latest) / 1_000_000)
        restarted = _update(
            pk,
            [tag(Throttle), Throttle.due.set(full + cost * interval),
             Throttle.expires_at.set(expires)],
            Throttle.due < full)
        if restarted is None:
            return
    raise conflicts.LostRace(f"bucket {scope} kept changing")

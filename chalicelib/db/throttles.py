"""Fixed-window rate-limit counters, each use taken atomically (one conditional UpdateItem) before the work."""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Throttle, tag


class LimitReached(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Ticket:
    """A use that was counted; it can be given back (the attempt turned out fine)."""

    pk: str


def _window(window_seconds: int, now: float) -> tuple[int, float]:
    index = int(now // window_seconds)
    return index, (index + 1) * window_seconds


def _refused(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


@conflicts.retrying()
def take(scope: str, subject: str, limit: int, window_seconds: int, now: float) -> Ticket:
    """Count one use unless `limit` uses were counted in this window; raises LimitReached with the wait."""
    index, window_end = _window(window_seconds, now)
    pk = keys.throttle_pk(scope, subject, index)
    try:
        Throttle(pk, keys.THROTTLE_SK).update(
            actions=[tag(Throttle), Throttle.uses.add(1), Throttle.expires_at.set(int(window_end) + 60)],
            condition=Throttle.uses.does_not_exist() | (Throttle.uses < limit))
    except UpdateError as error:
        if _refused(error):
            raise LimitReached(window_end - now) from error
        raise
    return Ticket(pk)


@conflicts.retrying()
def pace(scope: str, subject: str, free_uses: int, window_seconds: int, interval_seconds: int, now: float) -> None:
    """`free_uses` uses per window at any rate, then one use per `interval_seconds`: slows, never locks."""
    index, window_end = _window(window_seconds, now)
    try:
        Throttle(keys.throttle_pk(scope, subject, index), keys.THROTTLE_SK).update(
            actions=[tag(Throttle), Throttle.uses.add(1), Throttle.next_at.set(now + interval_seconds),
                     Throttle.expires_at.set(int(window_end) + 60)],
            condition=Throttle.uses.does_not_exist() | (Throttle.uses < free_uses) | (Throttle.next_at <= now))
    except UpdateError as error:
        if _refused(error):
            raise LimitReached(interval_seconds) from error
        raise


@conflicts.retrying()
def give_back(ticket: Ticket) -> None:
    try:
        Throttle(ticket.pk, keys.THROTTLE_SK).update(actions=[Throttle.uses.add(-1)], condition=Throttle.uses > 0)
    except UpdateError as error:
        if not _refused(error):
            raise


@conflicts.retrying()
def clear(ticket: Ticket) -> None:
    """Forget every use counted in the ticket's window (e.g. earlier failures, after a success)."""
    Throttle(ticket.pk, keys.THROTTLE_SK).delete()

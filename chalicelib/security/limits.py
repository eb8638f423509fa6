"""Rate limits as the services use them: take a use before the work, get RateLimited with the wait when spent."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib import clock
from chalicelib.db import throttles
from chalicelib.db.throttles import LimitReached, Ticket
from chalicelib.errors import RateLimited


def take(scope: str, subject: str, limit: int, window_seconds: int, refusal: str) -> Ticket:
    """`refusal` says what ran out (e.g. "too many failed logins from your network"); RateLimited adds the wait."""
    try:
        return throttles.take(scope, subject, limit, window_seconds, clock.now())
    except LimitReached as reached:
        raise RateLimited(refusal, int(reached.retry_after + 0.999)) from reached


@contextmanager
def given_back_if_refused(ticket: Ticket) -> Iterator[None]:
    """A use counted for an attempt that a later limit then refuses is given back: only attempts that went on
    to the guarded work count."""
    try:
        yield
    except RateLimited:
        throttles.give_back(ticket)
        raise


def pace(scope: str, subject: str, free_uses: int, window_seconds: int, interval_seconds: int, refusal: str) -> None:
    try:
        throttles.pace(scope, subject, free_uses, window_seconds, interval_seconds, clock.now())
    except LimitReached as reached:
        raise RateLimited(refusal, int(reached.retry_after + 0.999)) from reached

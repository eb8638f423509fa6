"""Rate limits as the services use them: take a use before the work, get RateLimited with the wait when spent.

Two kinds: `take`/`pace` count failures and attempts in fixed windows (logins, email codes, group passwords);
`spend` takes units from a per-account token bucket for every action that costs the operator money (the quotas
of config.QUOTA_DEFAULTS, README *Limits*).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.db import buckets, connections, throttles
from chalicelib.db.throttles import LimitReached, Ticket
from chalicelib.errors import RateLimited

MESSAGE_UNITS = 10  # what a message action costs besides its recipients (README *Limits*)
KIB, MIB = 1024, 1024 * 1024


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


def _bucket(quota: str) -> buckets.Bucket:
    settings = get_settings().quotas[quota]
    return buckets.Bucket(settings.capacity, settings.per_day)


def spend(quota: str, subject: int | str, units: int, refusal: str) -> None:
    """Take `units` from `subject`'s bucket of `quota` (one conditional write) or raise RateLimited with the wait."""
    try:
        buckets.spend(quota, str(subject), _bucket(quota), units, clock.now())
    except buckets.BucketEmpty as empty:
        raise RateLimited(refusal, int(empty.retry_after + 0.999)) from empty


def spend_frame(connection_id: str, refusal: str) -> int | None:
    """A WebSocket frame takes a unit of its connection's `ws_frames` quota, whose bucket the connection's own item
    keeps (one conditional write, which answers the connection's owner: returned; None when it has none); or
    RateLimited with the wait."""
    try:
        return connections.take_frame(connection_id, _bucket("ws_frames"), clock.now())
    except buckets.BucketEmpty as empty:
        raise RateLimited(refusal, int(empty.retry_after + 0.999)) from empty


def give_back(quota: str, subject: int | str, units: int) -> None:
    """`units` spent on work whose own conditional write then refused it (nothing done): a refusal costs nothing."""
    buckets.give_back(quota, str(subject), _bucket(quota), units)


def message_units(recipients: int, text: str = "") -> int:
    """10 + a unit per KiB (at least one) for the stored copy and for each recipient: what DynamoDB writes
    (a write unit per KiB) and what is pushed or kept for every recipient grow with both."""
    kib = max(1, -(-len(text.encode("utf-8", "surrogatepass")) // KIB))
    return MESSAGE_UNITS + kib * (1 + recipients)


def upload_units(size_bytes: int) -> int:
    return 1 + -(-size_bytes // MIB)

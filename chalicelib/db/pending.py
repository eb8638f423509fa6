"""Pending events: frames kept for users who had no live connection, replayed in order after they connect."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Item, PendingEvent

RETENTION_SECONDS = 15 * 86400
MAX_REPLAY = 500
CLAIM_SECONDS = 10  # far longer than one post to API Gateway


@dataclass(frozen=True)
class Pending:
    user_id: int
    sort_key: str
    frame: str
    claimed_until: float = 0


def store(events: Iterable[tuple[int, str, str]], now_ms: int) -> None:
    """Keep frames (user id, ordering key, frame) for offline users: one BatchWriteItem per 25 events.

    A user's events replay in ordering-key order; keeping the same key again overwrites, so a retried delivery
    keeps a frame once."""
    expires = now_ms // 1000 + RETENTION_SECONDS
    with PendingEvent.batch_write() as batch:
        for user_id, ordering_key, frame in events:
            batch.save(PendingEvent(keys.user_pk(user_id), keys.pending_sk(ordering_key), frame=frame,
                                    expires_at=expires))


def list_for(user_id: int, now: float) -> list[Pending]:
    """Unexpired events of a user, oldest first, held ones included (one Query, bounded)."""
    events = []
    for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.PENDING_PREFIX), limit=MAX_REPLAY):
        if isinstance(item, PendingEvent) and (item.expires_at or 0) > now:
            events.append(Pending(user_id, item.SK, item.frame, float(item.claimed_until or 0)))
    return events


@conflicts.retrying()
def claim(event: Pending, now: float) -> bool:
    """Hold an event while posting it; exactly one replayer holds it at a time. A hold that outlives
    CLAIM_SECONDS (its replayer died before posting) can be taken over, so no event is lost with its replayer."""
    try:
        PendingEvent(keys.user_pk(event.user_id), event.sort_key).update(
            actions=[PendingEvent.claimed_until.set(now + CLAIM_SECONDS)],
            condition=PendingEvent.PK.exists()
            & (PendingEvent.claimed_until.does_not_exist() | (PendingEvent.claimed_until < now)))
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@conflicts.retrying()
def done(event: Pending) -> None:
    """The held event was posted: it is gone for good."""
    PendingEvent(keys.user_pk(event.user_id), event.sort_key).delete()


@conflicts.retrying()
def release(event: Pending) -> None:
    """The held event could not be posted: the next replayer takes it, in its place in the order."""
    try:
        PendingEvent(keys.user_pk(event.user_id), event.sort_key).update(
            actions=[PendingEvent.claimed_until.remove()], condition=PendingEvent.PK.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise

"""Pending events: frames kept for users who had no live connection, replayed in order after they connect."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Item, PendingEvent

RETENTION_SECONDS = 15 * 86400
MAX_REPLAY = 500


@dataclass(frozen=True)
class Pending:
    user_id: int
    sort_key: str
    frame: str


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
    """Unexpired events of a user, oldest first (one Query, bounded)."""
    events = []
    for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.PENDING_PREFIX), limit=MAX_REPLAY):
        if isinstance(item, PendingEvent) and (item.expires_at or 0) > now:
            events.append(Pending(user_id, item.SK, item.frame))
    return events


@conflicts.retrying()
def claim(event: Pending) -> bool:
    """Take an event for delivery; exactly one replayer wins it."""
    try:
        PendingEvent(keys.user_pk(event.user_id), event.sort_key).delete(condition=PendingEvent.PK.exists())
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@conflicts.retrying()
def put_back(event: Pending, now: float) -> None:
    """Return an event whose delivery failed, under its original key so the order holds."""
    try:
        PendingEvent(keys.user_pk(event.user_id), event.sort_key, frame=event.frame,
                     expires_at=int(now + RETENTION_SECONDS)).save(condition=PendingEvent.PK.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise

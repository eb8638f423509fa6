"""Pending events: frames kept for users who had no live connection, replayed in order after they connect."""
from __future__ import annotations

import uuid
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


def ordering_key(now_ms: int) -> str:
    """Time first so a user's events replay in the order they were kept; random tail for uniqueness."""
    return f"{now_ms:015d}#{uuid.uuid4().hex[:12]}"


def store(events: Iterable[tuple[int, str]], now_ms: int) -> None:
    """Keep frames for offline users: one BatchWriteItem per 25 events."""
    expires = now_ms // 1000 + RETENTION_SECONDS
    with PendingEvent.batch_write() as batch:
        for user_id, frame in events:
            batch.save(PendingEvent(keys.user_pk(user_id), keys.pending_sk(ordering_key(now_ms)), frame=frame,
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

"""Kept frames: frames for a user that could not go out live, replayed in order by one holder at a time.

Two facts live on the user's connection set (the item every delivery reads already): `kept`, present while frames
may be kept for the user, and the replay's hold (`replayer`, `replay_until`). The protocol, with every read
consistent:
- a keeper stores its frames, then reads the set again (`mark`): when `kept` is absent, or a replay is held, it
  raises `kept` (one UpdateItem); otherwise a replay not yet begun lists them, and `kept` stays set until one has;
- a keeper that finds `kept` absent and the user online may instead take its frames back (`take_back`): one
  transaction deletes them on the conditions that they are still kept and `kept` is still absent. Then no replayer
  has listed them or ever will (a replayer lists only while it holds, holding needs `kept`, and `kept` goes only
  when its holder has posted and deleted what it listed), so the keeper posts them live, after everything kept
  before (the absent `kept` says all of it was posted). When they are all gone already, a replay listed them after
  they were kept and posted them: nothing is left to do. Otherwise the keeper raises `kept` as above;
- a replayer takes the hold (which returns `kept`: v), lists, posts and deletes kept frames until a listing comes
  back empty, and clears `kept` only on the condition that it still holds the hold and `kept` is still v.
So a cleared `kept` means every frame kept before the clear was posted: a keeper that stored after the
replayer's last listing raised `kept`, and the clear failed (the replayer lists again). No step depends on a clock:
the hold's expiry only lets another replayer take over from one that died.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.db import conflicts, connections, keys
from chalicelib.db.connections import Reach
from chalicelib.db.models import ConnectionSet, DeliveryProgress, Item, PendingEvent, tag
from chalicelib.db.transactions import failed_conditions, transaction

T = TypeVar("T")
R = TypeVar("R")


class Each(Protocol):
    """Runs `work` on each item, answers in the items' order: one by one, or the caller's pool."""

    def __call__(self, work: Callable[[T], R], items: list[T]) -> Iterable[R]: ...


def _one_by_one(work: Callable[[T], R], items: list[T]) -> list[R]:
    return [work(item) for item in items]


RETENTION_SECONDS = 15 * 86400
MAX_REPLAY = 500
PAGE = 25  # kept frames listed, posted and deleted (one BatchWriteItem) at a time
HOLD_SECONDS = 10  # far longer than one page of posts, whose client times out first (chalicelib/aws.py)
PROGRESS_SECONDS = 86400  # the record of a failed batch outlives its retries (6 h at most)


@dataclass(frozen=True)
class Pending:
    user_id: int
    sort_key: str
    frame: str
    expires_at: float = 0
    got: frozenset[str] = frozenset()  # connections that took it in a replay that stopped at it
    tries: int = 0  # replays that stopped at it because a post failed


def store(events: list[tuple[int, str, str]], now_ms: int, each: Each = _one_by_one) -> None:
    """Keep frames (user id, ordering key, frame): one BatchWriteItem per 25 events, run through `each` (the
    caller's pool: the sooner they are all kept, the sooner `mark` reads the sets). A user's frames replay in
    ordering-key order; keeping the same key again overwrites, so a retried delivery keeps a frame once.
    The caller then calls `mark` for these users."""
    expires = now_ms // 1000 + RETENTION_SECONDS

    def write(chunk: list[tuple[int, str, str]]) -> None:
        with PendingEvent.batch_write() as batch:
            for user_id, ordering_key, frame in chunk:
                batch.save(PendingEvent(keys.user_pk(user_id), keys.pending_sk(ordering_key), frame=frame,
                                        expires_at=expires))

    list(each(write, [events[start:start + PAGE] for start in range(0, len(events), PAGE)]))


class TakenBack(Enum):
    """What taking a keeper's frames back found (`take_back`)."""

    TAKEN = "taken"  # deleted while nothing was kept: the keeper posts them live
    REPLAYED = "replayed"  # all gone: a replay listed them after they were kept, posted them and cleared `kept`
    LEFT = "left"  # a keeper raised `kept` (or a replay posted only some): they are left to a replay


def mark(user_ids: Iterable[int], now: float, each: Each = _one_by_one,
         take_back: Callable[[int], TakenBack] | None = None) -> dict[int, Reach]:
    """The keeper's half, after `store`: one consistent BatchGetItem per 100 users, and one UpdateItem for each user
    whose `kept` is absent or whose replay is held (that replayer's clear must fail), run through `each` (the
    caller's pool). With `take_back`, a user found with `kept` absent and live connections is offered to it first
    (the caller's `take_back` of its frames here); unless they are left to a replay, the user is not raised.
    Returns each user as now seen: `kept` 0 means its frames were taken back, to be posted live to the connections
    given (none when a replay posted them already); a user with live connections and no replay held needs a replay
    to get the frames."""
    fresh, _ = connections.reach(user_ids, now, consistent=True)

    def settle(user_id: int) -> Reach:
        found = fresh[user_id]
        if take_back is not None and not found.kept and found.connections:
            outcome = take_back(user_id)
            if outcome is TakenBack.TAKEN:
                return found
            if outcome is TakenBack.REPLAYED:
                return Reach([])
        return _raise_kept(user_id, now)

    unmarked = [user_id for user_id, found in fresh.items() if not found.kept or found.replayer]
    fresh.update(zip(unmarked, each(settle, unmarked), strict=True))
    return fresh


@conflicts.retrying()
def take_back(user_id: int, ordering_keys: list[str]) -> TakenBack:
    """A keeper's frames for a user whose `kept` its `mark` found absent: one TransactWriteItems deletes them on the
    conditions that each is still kept and `kept` is still absent (see the module's protocol). TAKEN: they are the
    keeper's alone, to post live. Otherwise nothing is written: REPLAYED when every one is gone (only a replay that
    posted them deletes a kept frame before its 15 days, and `kept` absent says it finished), LEFT when a keeper
    raised `kept` or only some are gone (the caller raises `kept` too, and a replay posts what is left)."""
    try:
        with transaction() as tx:
            tx.condition_check(ConnectionSet, keys.user_pk(user_id), keys.CONNECTIONS_SK,
                               condition=ConnectionSet.kept.does_not_exist())
            for ordering_key in ordering_keys:
                tx.delete(PendingEvent(keys.user_pk(user_id), keys.pending_sk(ordering_key)),
                          condition=PendingEvent.SK.exists())
    except TransactWriteError as error:
        failed = failed_conditions(error)
        if not failed:
            raise
        # PynamoDB sends the condition check first, then the deletes
        return TakenBack.REPLAYED if failed == list(range(1, len(ordering_keys) + 1)) else TakenBack.LEFT
    return TakenBack.TAKEN


@conflicts.retrying()
def _raise_kept(user_id: int, now: float) -> Reach:
    kept_until = int(now) + RETENTION_SECONDS + connections.LIFETIME_SECONDS
    item = ConnectionSet(keys.user_pk(user_id), keys.CONNECTIONS_SK)
    item.update(actions=[tag(ConnectionSet), ConnectionSet.kept.add(1), ConnectionSet.kept_until.set(kept_until),
                         ConnectionSet.expires_at.set(kept_until)])
    return connections.reach_of(item, now)


def list_for(user_id: int, now: float, limit: int = MAX_REPLAY) -> list[Pending]:
    """Unexpired kept frames of a user, oldest first (one consistent Query, bounded)."""
    return [event for event in page(user_id, limit) if event.expires_at > now]


def page(user_id: int, limit: int = PAGE) -> list[Pending]:
    """The user's oldest kept frames, expired ones included (TTL deletes them late; a replayer deletes them
    unposted), so a full page means there may be more. One consistent Query."""
    return [Pending(user_id, item.SK, item.frame, float(item.expires_at or 0), frozenset(item.got or ()),
                    int(item.tries or 0))
            for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.PENDING_PREFIX), limit=limit,
                                   consistent_read=True) if isinstance(item, PendingEvent)]


def forget(events: Iterable[Pending]) -> None:
    """Posted frames are gone for good: one BatchWriteItem per 25."""
    with PendingEvent.batch_write() as batch:
        for event in events:
            batch.delete(PendingEvent(keys.user_pk(event.user_id), event.sort_key))


@conflicts.retrying()
def note_failed_try(event: Pending, took: list[str]) -> None:
    """A replay stopped at `event` because a post failed: the connections that took it are not posted it again,
    and the try is counted. One UpdateItem; nothing when the frame was deleted meanwhile."""
    actions: list[Action] = [PendingEvent.tries.add(1), *([PendingEvent.got.add(set(took))] if took else [])]
    try:
        PendingEvent(keys.user_pk(event.user_id), event.sort_key).update(
            actions=actions, condition=PendingEvent.SK.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


@conflicts.retrying()
def hold(user_id: int, holder: str, now: float) -> Reach | None:
    """Take the user's replay: only while frames are kept and nobody holds it (or its holder died: the hold
    expired). Returns the user's connections and `kept`; None when there is nothing to take."""
    return _update_set(user_id, now, [ConnectionSet.replayer.set(holder),
                                      ConnectionSet.replay_until.set(now + HOLD_SECONDS)],
                       ConnectionSet.kept.exists() & (ConnectionSet.replayer.does_not_exist()
                                                      | (ConnectionSet.replay_until < now)))


@conflicts.retrying()
def renew(user_id: int, holder: str, now: float) -> Reach | None:
    """Extend our own hold and read the set again; None when the hold is no longer ours."""
    return _update_set(user_id, now, [ConnectionSet.replay_until.set(now + HOLD_SECONDS)],
                       ConnectionSet.replayer == holder)


@conflicts.retrying()
def finish(user_id: int, holder: str, kept: int, expires: int) -> bool:
    """Nothing is kept any more: clear `kept` and our hold, if the hold is still ours and no keeper raised `kept`
    since we read it (False otherwise: list again). The set's TTL goes back to its connections'."""
    return _update_set(user_id, 0, [ConnectionSet.kept.remove(), ConnectionSet.kept_until.remove(),
                                    ConnectionSet.replayer.remove(), ConnectionSet.replay_until.remove(),
                                    ConnectionSet.expires_at.set(expires)],
                       (ConnectionSet.replayer == holder) & (ConnectionSet.kept == kept)) is not None


@conflicts.retrying()
def release(user_id: int, holder: str) -> None:
    """Give up our hold (a post failed, or time ran out); the frames stay kept for the next replayer. Another
    holder's hold is never released."""
    _update_set(user_id, 0, [ConnectionSet.replayer.remove(), ConnectionSet.replay_until.remove()],
                ConnectionSet.replayer == holder)


def _update_set(user_id: int, now: float, actions: list, condition: object) -> Reach | None:  # type: ignore[type-arg]
    item = ConnectionSet(keys.user_pk(user_id), keys.CONNECTIONS_SK)
    try:
        item.update(actions=actions, condition=condition)  # type: ignore[arg-type]
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return connections.reach_of(item, now)


def progress_key(sequence: str) -> tuple[str, str]:
    return keys.delivery_progress_pk(sequence), keys.DELIVERY_PROGRESS_SK


def progress_of(items: Iterable[Item]) -> dict[str, dict[int, list[str]]]:
    """What a failed batch still owed, read back by its retry (see `save_progress`)."""
    for item in items:
        if isinstance(item, DeliveryProgress):
            return {sequence: {int(user): posted for user, posted in owed.items()}
                    for sequence, owed in json.loads(item.owed).items()}
    return {}


@conflicts.retrying()
def save_progress(sequence: str, owed: dict[str, dict[int, list[str]]], now: float) -> None:
    """One write per failed batch, under the sequence number its retry starts from: for each record it attempted,
    the recipients it still owes the frame (and the connections of theirs that got it already); a record owing
    nothing is done. Its retry skips what was delivered."""
    DeliveryProgress(*progress_key(sequence)).update(actions=[
        tag(DeliveryProgress), DeliveryProgress.owed.set(json.dumps(owed, separators=(",", ":"))),
        DeliveryProgress.expires_at.set(int(now) + PROGRESS_SECONDS)])

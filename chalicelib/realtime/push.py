"""Fan-out: every live connection of every recipient, in parallel; offline recipients keep the frame."""
from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock
from chalicelib.db import connections, pending
from chalicelib.db.connections import LiveConnection
from chalicelib.http.envelope import to_json
from chalicelib.logs import log_exception
from chalicelib.realtime.sender import MAX_PAYLOAD_BYTES, ConnectionGone, Sender, get_sender

_pool: ThreadPoolExecutor | None = None
OTHER_REPLAYER_PAUSE_SECONDS = 0.05


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        from chalicelib.config import get_settings

        _pool = ThreadPoolExecutor(max_workers=get_settings().fanout_workers, thread_name_prefix="fanout")
    return _pool


@dataclass
class PushReport:
    delivered: int = 0
    gone: list[LiveConnection] = field(default_factory=list)
    failed: int = 0
    kept_for: list[int] = field(default_factory=list)


def encode(frame: dict[str, Any]) -> bytes:
    data = to_json(frame).encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("frame exceeds the 128 KB WebSocket payload limit")
    return data


def _post(sender: Sender, connection: LiveConnection, data: bytes) -> str:
    try:
        sender.post(connection.connection_id, data)
        return "ok"
    except ConnectionGone:
        return "gone"
    except Exception:  # one failure never stops the rest; the frame is kept instead
        log_exception("push failed", connection=connection.connection_id)
        return "failed"


def push(deliveries: Iterable[tuple[int, dict[str, Any]]], *, keep_as: str | None,
         live: dict[int, list[LiveConnection]] | None = None) -> PushReport:
    """Send each (user id, frame) to all of that user's live connections (`live`: read already by the caller,
    who also replayed kept frames to new connections; otherwise read here).

    With `keep_as` (the ordering key of what is delivered), a user none of whose connections took the frame gets
    it kept as a pending event under `<keep_as>#<index>`, so a failed push never loses it and a repeated delivery
    keeps it once. Failing to read connections or to keep frames raises, so the caller (the delivery function)
    retries; a failed post to one connection never stops the rest.
    """
    planned = [(user_id, encode(frame)) for user_id, frame in deliveries]
    report = PushReport()
    if not planned:
        return report
    if live is None:
        live = connections.live_connections({user_id for user_id, _ in planned}, clock.now())
        replay_to_new_connections(live)
    jobs = [(index, connection, data) for index, (user_id, data) in enumerate(planned)
            for connection in live.get(user_id, [])]
    sender = get_sender()
    if len(jobs) <= 1:
        outcomes = [_post(sender, connection, data) for _, connection, data in jobs]
    else:
        # each job runs in a copy of this invocation's context, so its AWS calls count towards it
        contexts = [contextvars.copy_context() for _ in jobs]
        outcomes = list(_executor().map(lambda ctx, job: ctx.run(_post, sender, job[1], job[2]), contexts, jobs))
    delivered_indexes = set()
    for (index, connection, _), outcome in zip(jobs, outcomes, strict=False):
        if outcome == "ok":
            report.delivered += 1
            delivered_indexes.add(index)
        elif outcome == "gone":
            report.gone.append(connection)
        else:
            report.failed += 1
    if report.gone:
        try:
            connections.discard(report.gone)
        except Exception:  # the next push finds them gone again
            log_exception("forgetting gone connections failed", connections=len(report.gone))
    if keep_as is not None:
        undelivered = [(user_id, f"{keep_as}#{index:05d}", data.decode("utf-8"))
                       for index, (user_id, data) in enumerate(planned) if index not in delivered_indexes]
        if undelivered:
            pending.store(undelivered, clock.now_ms())
            report.kept_for = [user_id for user_id, _, _ in undelivered]
            # whether the lookup found no connection or only ones that turned out gone: a connection opened since
            # may have replayed before this frame was kept, and newer frames would reach it live before this one
            _hand_to_late_connections(set(report.kept_for))
    return report


def close_connections(targets: list[LiveConnection], frame: dict[str, Any]) -> None:
    """Send each connection a last frame, then have API Gateway close it; forget them all at once, so no later
    push reaches them while their `$disconnect` is on its way."""
    if not targets:
        return
    sender = get_sender()
    data = encode(frame)
    for connection in targets:
        _post(sender, connection, data)
        try:
            sender.close(connection.connection_id)
        except ConnectionGone:
            pass
        except Exception:  # it is forgotten below; API Gateway ends it at its lifetime anyway
            log_exception("closing a connection failed", connection=connection.connection_id)
    connections.discard(targets)


def _hand_to_late_connections(user_ids: set[int]) -> None:
    """A recipient who connected after our lookup may have replayed its kept events before this frame was kept,
    and would otherwise wait for its next connection while newer frames reach it live: hand its kept events to
    that connection now (gone connections were forgotten first). Costs one BatchGetItem, only for pushes that
    kept something; holds keep delivery exactly once when the connection's own replay runs at the same time."""
    if not user_ids:
        return
    try:
        for user_id, live in connections.live_connections(user_ids, clock.now()).items():
            if live:
                replay_pending(user_id, live[0].connection_id)
    except Exception:  # the frames stay kept for the next connection
        log_exception("handing kept frames to new connections failed", users=len(user_ids))


def replay_to_new_connections(live: dict[int, list[LiveConnection]]) -> None:
    """A connection opened in the replay window may not have replayed its kept events yet (its first heartbeat
    replays them, and may come later): they are older than what is being delivered, so they go to it first.
    One Query per such recipient, once per connection in this process: a frame kept for its user after that was
    kept while it was open, and is handed to it by the delivery that kept it (`_hand_to_late_connections`)."""
    now = clock.now()
    for user_id, user_connections in live.items():
        new = [connection for connection in user_connections
               if connection.is_new(now) and connection.connection_id not in _replayed_to]
        if new:
            replay_pending(user_id, new[-1].connection_id, wait_for_others=True)
            _remember_replayed(connection.connection_id for connection in new)


_replayed_to: set[str] = set()  # new connections this process has replayed kept events to
_MAX_REMEMBERED = 10_000  # forgetting only costs a Query again


def forget_replayed() -> None:
    """Tests start each case on an empty table, where connection ids repeat."""
    _replayed_to.clear()


def _remember_replayed(connection_ids: Iterable[str]) -> None:
    if len(_replayed_to) >= _MAX_REMEMBERED:
        _replayed_to.clear()
    _replayed_to.update(connection_ids)


def replay_pending(user_id: int, connection_id: str, *, wait_for_others: bool = False) -> int:
    """Deliver a user's kept events to a connection, oldest first, each exactly once.

    Two replayers of one user (the connection's own, a delivery's) never interleave: one that finds an event held
    by the other leaves the rest to it. With `wait_for_others` (a delivery about to post newer frames), it waits
    until the other has posted them all instead, at most one hold's length (the hold of a dead replayer expires).
    """
    sender = get_sender()
    delivered = 0
    deadline = time.monotonic() + pending.CLAIM_SECONDS + 1
    while events := pending.list_for(user_id, clock.now()):
        for event in events:
            now = clock.now()
            if event.claimed_until > now or not pending.claim(event, now):
                break  # held by another replayer, which posts it and those after it
            outcome = _post(sender, LiveConnection(connection_id, user_id, ""), event.frame.encode("utf-8"))
            if outcome != "ok":
                pending.release(event)
                return delivered
            pending.done(event)
            delivered += 1
        else:
            continue
        if not wait_for_others or time.monotonic() > deadline:
            return delivered
        time.sleep(OTHER_REPLAYER_PAUSE_SECONDS)
    return delivered

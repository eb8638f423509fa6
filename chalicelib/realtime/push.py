"""Pushing frames: the delivery's rule for order and exactly-once (`deliver`), replays of kept frames (`replay`),
the live-only push of call signals, and closing sockets."""
from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from chalicelib import clock
from chalicelib.db import connections, pending
from chalicelib.db.connections import LiveConnection, Reach
from chalicelib.http.envelope import to_json
from chalicelib.logs import log_event, log_exception
from chalicelib.realtime.sender import MAX_PAYLOAD_BYTES, ConnectionGone, Sender, get_sender

T = TypeVar("T")
R = TypeVar("R")
Owed = dict[int, list[str]]  # recipients still owed a frame → their connections that got it already
POST_ATTEMPTS = 3  # a replay's posts of one frame to one connection (each already retried by the AWS client)
MAX_REPLAYS_STOPPED = 5  # replays that may stop at a kept frame whose posts to some connection kept failing
REPLAY_WORKERS = 16  # users replayed to at the same time; replays of different users never wait for each other


def encode(frame: dict[str, Any]) -> bytes:
    data = to_json(frame).encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("frame exceeds the 128 KB WebSocket payload limit")
    return data


class Deadline:
    """The Lambda context's remaining time: work stops this long before the function would be killed."""

    MARGIN_MS = 30_000  # more than one post can take with its client's timeouts and retries (chalicelib/aws.py)

    def __init__(self, context: Any = None) -> None:
        self._remaining: Callable[[], int] | None = getattr(context, "get_remaining_time_in_millis", None)

    def near(self) -> bool:
        return self._remaining is not None and self._remaining() < self.MARGIN_MS

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """For a function whose handler gets no context: `seconds` from now count as its whole time."""
        ends = time.monotonic() + seconds + cls.MARGIN_MS / 1000
        deadline = cls()
        deadline._remaining = lambda: int((ends - time.monotonic()) * 1000)
        return deadline


class Recipients:
    """The batch's recipients as read once at its start (consistently), then as this batch changed them: users it
    kept frames for count as having kept frames for the rest of the batch, connections found gone are dropped."""

    def __init__(self, users: dict[int, Reach]) -> None:
        self._users = users
        self._lock = threading.Lock()

    def __getitem__(self, user_id: int) -> Reach:
        with self._lock:
            return self._users.get(user_id) or Reach([])

    def kept_for(self, fresh: dict[int, Reach]) -> None:
        with self._lock:
            for user_id, found in fresh.items():
                self._users[user_id] = Reach(found.connections, max(found.kept, 1), found.replayer)

    def forget(self, gone: list[LiveConnection]) -> None:
        with self._lock:
            for connection in gone:
                found = self._users.get(connection.user_id) or Reach([])
                self._users[connection.user_id] = Reach(
                    [kept for kept in found.connections if kept.connection_id != connection.connection_id],
                    found.kept, found.replayer)


class Undelivered(Exception):
    """Keeping frames failed part-way through a record: `owed` is what the record still owes (the retry skips the
    rest)."""

    def __init__(self, owed: Owed) -> None:
        super().__init__(f"{len(owed)} recipients still owed the frame")
        self.owed = owed


def deliver(planned: list[tuple[int, bytes]], keep_as: str, recipients: Recipients, replays: Replays,
            owed_before: Owed | None = None) -> Owed:
    """One record's frames, by the one rule that keeps every connection's frames of a conversation in order:

    **a recipient gets the frame live only when its connection set says no frame is kept for it** (and it has
    live connections); otherwise the frame is kept behind the kept ones, and the user's replay is asked for.

    Why it holds whatever the lag: a conversation's records are delivered one after another (the stream's order,
    one batch per shard at a time), and every batch reads the sets consistently after the records before it were
    done, so frame n+1 sees the set as frame n left it or newer. If n was kept, the set says so (`kept`, raised by
    n's keeper, pending.py) until a replayer cleared it, and a replayer clears it only after posting every frame
    kept before, n included; so n+1 goes live only after n reached the user's sockets, or is kept behind it
    (ordering keys are commit order) and replayed after it. Inside a batch, `recipients` carries what this batch
    kept. No window, no sleep: a replay held by another replayer is left to it (the keeper's raise makes it list
    again).

    Why once: a frame is either posted to a connection or kept, never both; a kept frame is posted by the holder
    of the user's replay and deleted after, or taken back by its keeper (`pending.take_back`: deleted while nothing
    is kept for the user, so no replayer can list it) and posted live, still after everything kept before it.
    `owed_before` (a retry of a batch that reported this record failed) limits the frame to the recipients still
    owed it, minus their connections that got it.

    Returns the recipients still owed the frame: those with a connection whose post failed (the record is then
    reported failed and retried). Failing to keep raises Undelivered (the record fails; nothing is lost)."""
    posted_before = owed_before if owed_before is not None else {}
    jobs: list[tuple[int, LiveConnection]] = []
    to_keep: list[int] = []
    for index, (user_id, _) in enumerate(planned):
        if owed_before is not None and user_id not in owed_before:
            continue  # delivered before the failure
        found = recipients[user_id]
        already = set(posted_before.get(user_id, ()))
        if found.kept and already:
            continue  # some of its sockets got it: replaying it to them would repeat it
        if found.kept or not found.connections:
            to_keep.append(index)
            continue
        jobs += [(index, connection) for connection in found.connections if connection.connection_id not in already]
    took: dict[int, list[str]] = {}
    failed: set[int] = set()
    may_take_back = True
    while True:
        to_keep += _post_live(planned, jobs, recipients, took, failed, posted_before)
        if not to_keep:
            break
        owed = _owed(planned, failed, took, posted_before)
        taken = _keep(planned, to_keep, keep_as, recipients, replays, may_take_back, owed)
        # frames taken back (a replay cleared the user's `kept` since the batch read it) go out live, to the
        # connections the keeper's read found; what finds every one gone is kept once more, without taking back
        jobs = [(index, connection) for index, connections_now in taken for connection in connections_now]
        to_keep, may_take_back = [], False
    return _owed(planned, failed, took, posted_before)


def _post_live(planned: list[tuple[int, bytes]], jobs: list[tuple[int, LiveConnection]], recipients: Recipients,
               took: dict[int, list[str]], failed: set[int], posted_before: Owed) -> list[int]:
    """The posts of `jobs`, noted in `took` and `failed`; returns the frames every connection of whose user was
    gone (and none posted before): they are kept."""
    gone: list[LiveConnection] = []
    for (index, connection), outcome in zip(jobs, _post_all([(c, planned[i][1]) for i, c in jobs]), strict=True):
        if outcome == "ok":
            took.setdefault(index, []).append(connection.connection_id)
        elif outcome == "gone":
            gone.append(connection)
        else:
            failed.add(index)
    if gone:
        recipients.forget(gone)
        _discard(gone)
    return [index for index in dict.fromkeys(index for index, _ in jobs)
            if index not in failed and index not in took and not posted_before.get(planned[index][0])]


def _owed(planned: list[tuple[int, bytes]], failed: set[int], took: dict[int, list[str]], posted_before: Owed) -> Owed:
    return {planned[index][0]: list(posted_before.get(planned[index][0], ())) + took.get(index, [])
            for index in failed}


def _keep(planned: list[tuple[int, bytes]], to_keep: list[int], keep_as: str, recipients: Recipients,
          replays: Replays, may_take_back: bool, owed: Owed) -> list[tuple[int, list[LiveConnection]]]:
    """Keeps the frames (`pending.store`, `pending.mark`) and asks for the replays they need. With `may_take_back`,
    the frames of a user whose `kept` a replay cleared since the batch read it, and who is online, are taken back
    (`pending.take_back`): returned with the connections to post them to (none when that replay posted them
    already). Failing to keep raises Undelivered (keeping them again is harmless: the same keys)."""
    ordering_keys: dict[int, list[str]] = {}
    for index in to_keep:
        ordering_keys.setdefault(planned[index][0], []).append(f"{keep_as}#{index:05d}")
    try:
        pending.store([(planned[index][0], f"{keep_as}#{index:05d}", planned[index][1].decode("utf-8"))
                       for index in to_keep], clock.now_ms(), _in_parallel)
        fresh = pending.mark(ordering_keys, clock.now(), _in_parallel,
                             (lambda user_id: pending.take_back(user_id, ordering_keys[user_id])) if may_take_back
                             else None)
    except Exception as error:
        raise Undelivered({**owed, **{planned[index][0]: [] for index in to_keep}}) from error
    still_kept = {user_id: found for user_id, found in fresh.items() if found.kept}
    recipients.kept_for(still_kept)
    for user_id, found in still_kept.items():
        if found.connections and not found.replayer:
            replays.ask(user_id)
    return [(index, fresh[planned[index][0]].connections) for index in to_keep if not fresh[planned[index][0]].kept]


def replay(user_id: int, deadline: Deadline | None = None) -> int:
    """Post the user's kept frames to its live connections, oldest first, each once, then clear `kept`. Only the
    holder of the user's replay does; when another holds it, this returns at once (its holder lists again after
    any keeper that came meanwhile). A failed post or the deadline releases our hold (only ours) and leaves the
    rest kept, in place, for the next replay: the user's next frame or connection. A frame whose post failed for
    some connection notes those that took it (`pending.note_failed_try`): the next replay posts it only to the
    others, so every connection gets every frame once, in order; after MAX_REPLAYS_STOPPED such replays the failing
    connections miss it (and the rest of that replay), so they cannot hold the user's other sockets back.
    Costs, when one page (25) holds everything: 1 UpdateItem (hold), 1 Query, the posts, 1 BatchWriteItem, 1
    UpdateItem (clear)."""
    deadline = deadline or Deadline()
    holder = uuid.uuid4().hex
    found = pending.hold(user_id, holder, clock.now())
    sender = get_sender()
    delivered = 0
    while found is not None:
        events = pending.page(user_id)
        targets = list(found.connections)
        posted: list[pending.Pending] = []
        for event in events:
            if deadline.near() or not targets:
                break
            if event.expires_at <= clock.now():
                posted.append(event)  # past its 15 days: deleted, not posted
                continue
            data = event.frame.encode("utf-8")
            took, gone, failing = _post_with_retries(sender, [connection for connection in targets
                                                              if connection.connection_id not in event.got], data)
            _discard(gone)
            missed = {connection.connection_id for connection in gone + failing}
            targets = [connection for connection in targets if connection.connection_id not in missed]
            if failing:
                if event.tries + 1 < MAX_REPLAYS_STOPPED:
                    # it stays kept, and so does everything after it: the next replay posts it to the connections
                    # that missed it, then the rest to all, in order
                    _note_failed_try(event, took)
                    break
                log_event(error="a kept frame's posts kept failing: those connections miss it and the rest of "
                          "this replay", user_id=user_id, connections=sorted(missed))
            if took or event.got:
                posted.append(event)
        if posted:
            pending.forget(posted)
            delivered += sum(1 for event in posted if event.expires_at > clock.now())
        if len(posted) < len(events):
            pending.release(user_id, holder)
            return delivered
        if len(events) < pending.PAGE and pending.finish(user_id, holder, found.kept,
                                                         int(clock.now()) + connections.LIFETIME_SECONDS):
            return delivered
        found = pending.renew(user_id, holder, clock.now())  # a keeper came meanwhile, or there is another page
    return delivered


class Replays:
    """The replays a batch asked for, each user's in its own task (never behind another user's); the batch waits
    for them before it returns, as a Lambda function must."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._queued: set[int] = set()
        self._futures: list[Future[int]] = []
        self._lock = threading.Lock()

    def ask(self, user_id: int) -> None:
        """A replay not yet begun lists everything kept so far: one queued per user is enough."""
        with self._lock:
            if user_id in self._queued:
                return
            self._queued.add(user_id)
            context = contextvars.copy_context()  # its AWS calls count towards this invocation
            self._futures.append(_replay_pool().submit(context.run, self._run, user_id))

    def _run(self, user_id: int) -> int:
        with self._lock:
            self._queued.discard(user_id)
        try:
            return replay(user_id, self._deadline)
        except Exception:  # the frames stay kept, and `kept` set, for the next replay
            log_exception("replaying kept frames failed", user_id=user_id)
            return 0

    def wait(self) -> int:
        done = 0
        while True:
            with self._lock:
                futures, self._futures = self._futures, []
            if not futures:
                return done
            done += sum(future.result() for future in futures)


def push_live(user_ids: list[int], frame: dict[str, Any]) -> int:
    """A frame for the users' live connections only (a call signal, a typing notice: nothing is written, nothing
    kept); returns how many took it. One BatchGetItem per 100 users, then the posts in parallel."""
    data = encode(frame)
    targets = [connection for found in connections.live_connections(user_ids, clock.now()).values()
               for connection in found]
    outcomes = _post_all([(connection, data) for connection in targets])
    _discard([connection for connection, outcome in zip(targets, outcomes, strict=True) if outcome == "gone"])
    return outcomes.count("ok")


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


def _note_failed_try(event: pending.Pending, took: list[str]) -> None:
    try:
        pending.note_failed_try(event, took)
    except Exception:  # the next replay posts it to those connections again (the same frame, with its id)
        log_exception("noting a replay's failed post failed", user_id=event.user_id)


def _post_with_retries(sender: Sender, targets: list[LiveConnection],
                       data: bytes) -> tuple[list[str], list[LiveConnection], list[LiveConnection]]:
    """One frame to each target, a failed post tried again up to POST_ATTEMPTS in all: the ids of the connections
    that took it, those found gone, those whose every post failed."""
    took: list[str] = []
    gone: list[LiveConnection] = []
    failing = targets
    for _ in range(POST_ATTEMPTS):
        outcomes = [(connection, _post(sender, connection, data)) for connection in failing]
        took += [connection.connection_id for connection, outcome in outcomes if outcome == "ok"]
        gone += [connection for connection, outcome in outcomes if outcome == "gone"]
        failing = [connection for connection, outcome in outcomes if outcome == "failed"]
        if not failing:
            break
    return took, gone, failing


def _post(sender: Sender, connection: LiveConnection, data: bytes) -> str:
    try:
        sender.post(connection.connection_id, data)
        return "ok"
    except ConnectionGone:
        return "gone"
    except Exception:  # one failure never stops the rest
        log_exception("push failed", connection=connection.connection_id)
        return "failed"


def _post_all(jobs: list[tuple[LiveConnection, bytes]]) -> list[str]:
    sender = get_sender()
    return _in_parallel(lambda job: _post(sender, job[0], job[1]), jobs)


def _in_parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    """On the fan-out's pool, each in a copy of this invocation's context, so its AWS calls count towards it."""
    if len(items) <= 1:
        return [work(item) for item in items]
    contexts = [contextvars.copy_context() for _ in items]
    return list(_fanout_pool().map(lambda ctx, item: ctx.run(work, item), contexts, items))


def _discard(gone: list[LiveConnection]) -> None:
    if gone:
        try:
            connections.discard(gone)
        except Exception:  # the next push finds them gone again
            log_exception("forgetting gone connections failed", connections=len(gone))


_fanout: ThreadPoolExecutor | None = None
_replays: ThreadPoolExecutor | None = None


def _fanout_pool() -> ThreadPoolExecutor:
    global _fanout
    if _fanout is None:
        from chalicelib.config import get_settings

        _fanout = ThreadPoolExecutor(max_workers=get_settings().fanout_workers, thread_name_prefix="fanout")
    return _fanout


def _replay_pool() -> ThreadPoolExecutor:
    """Apart from the fan-out's pool, which a conversation waits on."""
    global _replays
    if _replays is None:
        _replays = ThreadPoolExecutor(max_workers=REPLAY_WORKERS, thread_name_prefix="replay")
    return _replays

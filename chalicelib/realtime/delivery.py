"""The delivery function: the table's stream records in, frames out, in stream order per conversation.

Every frame that follows a write is produced here from the committed item's image: a new Message is a chat frame
(private: to the peer; group: to the members read now), a Message whose recall committed is a recall frame, and an
Outbox item carries its own (recipient, frame) pairs. Other items are ignored. Every item lives in the partition of
the conversation it concerns, and the stream keeps each partition's records in commit order.
"""
from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import metrics
from chalicelib.db import groups, outbox
from chalicelib.db.messages import record_of
from chalicelib.db.models import Item, Message, Outbox
from chalicelib.db.sessions import GROUP
from chalicelib.logs import log_event, log_exception
from chalicelib.realtime.push import push
from chalicelib.services import conversation
from chalicelib.services.bot import BOT_ID
from chalicelib.ws import frames

Delivery = tuple[int, dict[str, Any]]
CONVERSATION_WORKERS = 8  # conversations of one batch delivered at the same time


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda's DynamoDB stream event in, `batchItemFailures` out (the mapping reports batch item failures).

    A shard holds many conversations: each conversation's records are delivered in order, one after another, and
    different conversations at the same time. A record that fails stops its conversation; the earliest failed
    record is reported, so the mapping retries from it, in order (records of other conversations after it are
    delivered again: their frames may arrive twice, with the same ids)."""
    started = time.perf_counter()
    calls = metrics.begin()
    records = event.get("Records") or []
    conversations: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        conversations.setdefault(_partition(record), []).append(index)
    outcomes = _run_each(lambda indexes: _deliver_in_order(records, indexes), list(conversations.values()))
    failed = min((index for index in outcomes if index is not None), default=None)
    failures = [] if failed is None else [{"itemIdentifier": _sequence(records[failed])}]
    log_event(kind="delivery", records=len(records), conversations=len(conversations),
              failed_at=failed, latency_ms=round((time.perf_counter() - started) * 1000, 2),
              aws_calls=metrics.end(calls))
    return {"batchItemFailures": failures}


def _deliver_in_order(records: list[dict[str, Any]], indexes: list[int]) -> int | None:
    """One conversation's records, in stream order; the index of the first that failed, if any."""
    for index in indexes:
        try:
            deliver(records[index])
        except Exception:
            log_exception("delivery failed; the record and those after it are retried",
                          sequence=_sequence(records[index]))
            return index
    return None


def _run_each(work: Callable[[list[int]], int | None], groups: list[list[int]]) -> list[int | None]:
    if len(groups) <= 1:
        return [work(group) for group in groups]
    # each conversation runs in a copy of this invocation's context, so its AWS calls count towards it
    contexts = [contextvars.copy_context() for _ in groups]
    return list(_conversation_pool().map(lambda ctx, group: ctx.run(work, group), contexts, groups))


_pool: ThreadPoolExecutor | None = None


def _conversation_pool() -> ThreadPoolExecutor:
    """Apart from the fan-out's pool: a conversation's delivery waits on its posts there."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=CONVERSATION_WORKERS, thread_name_prefix="conversation")
    return _pool


def _partition(record: dict[str, Any]) -> str:
    return str((((record.get("dynamodb") or {}).get("Keys") or {}).get("PK") or {}).get("S", ""))


def _sequence(record: dict[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def deliver(record: dict[str, Any]) -> None:
    stream = record.get("dynamodb") or {}
    image = stream.get("NewImage")
    if record.get("eventName") not in ("INSERT", "MODIFY") or not image:
        return
    kind = (image.get("T") or {}).get("S")
    if kind not in _PRODUCERS:
        return
    deliveries = _PRODUCERS[kind](Item.from_raw_data(image), record["eventName"])
    if deliveries:
        push(deliveries, keep_as=_ordering_key(stream))


def _ordering_key(stream: dict[str, Any]) -> str:
    """Kept frames replay in this order: commit time, then the stream's order (the same on every retry)."""
    created_ms = int(float(stream.get("ApproximateCreationDateTime") or 0) * 1000)
    return f"{created_ms:015d}#{str(stream.get('SequenceNumber', '')):0>40}"


def _message_frames(item: Item, event_name: str) -> list[Delivery]:
    assert isinstance(item, Message)
    message = record_of(item)
    shaped = conversation.message_shape(message)
    if event_name == "INSERT":
        sender = conversation.sender_brief(message)
        if message.channel_type == GROUP:
            return [(member.user_id, frames.chat(shaped, sender, member.user_id))
                    for member in groups.members(message.to_id)]
        # to the recipient only, as in the origin: the sender's client draws its own bubble from the send's answer
        return [] if message.to_id == BOT_ID else [(message.to_id, frames.chat(shaped, sender))]
    if not message.recalled_at:
        return []
    frame = frames.recalled(shaped, message.recalled_by)
    if message.channel_type == GROUP:
        return [(member.user_id, frame) for member in groups.members(message.to_id)]
    return [(user_id, frame) for user_id in (message.to_id, message.form_id) if user_id != BOT_ID]


def _outbox_frames(item: Item, event_name: str) -> list[Delivery]:
    assert isinstance(item, Outbox)
    return outbox.deliveries_of(item) if event_name == "INSERT" else []


_PRODUCERS: dict[str, Callable[[Item, str], list[Delivery]]] = {"Message": _message_frames, "Outbox": _outbox_frames}

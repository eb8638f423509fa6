"""The delivery function: the table's stream records in, frames out, in stream order per conversation.

Every frame that follows a write is produced here from the committed item's image: a send's write of its
conversation head (`fresh`) is a chat frame (private: to the peer; group: to the members), a change to a stored
Message is the frame of the change it wrote (`change`: a recall 1007, an edit 1008; to both sides or the members), a
reaction change is 1009 with the counts it committed (both sides or the members), and an Outbox item carries its
own (recipient, frame) pairs. Other items are ignored. Every item lives in the partition of the conversation it
concerns, and the stream keeps each partition's records in commit order; a conversation's messages are the records
of one item, its head, in the order the head took their sequences.

Before a message's frames go out, `messages.settle` makes sure it holds its client id and its history item exists
(finishing a send whose request stopped after its head write) and drops a sequence that stayed empty; the claim
and the history item are read in the batch's one BatchGetItem.

A burst of reactions to one message is pushed once per batch: of a message's reaction records in a batch, only the
newest makes frames, since its counts include every older one's (`_superseded_reactions`).

A batch is delivered in three steps: its frames are planned (a group's members read once per batch), the connection
sets of all their recipients (with their kept-frames marks) and the record a failed attempt at this batch may have
left are read at once, consistently, then each conversation's frames are delivered in order by the one rule of
`push.deliver`, the conversations at the same time; replays it asks for run beside them, one per user, and the
batch waits for them before it returns. Every record of a batch committed before the batch was read, so members
and connections read once per batch are at least as new as any record of it.
"""
from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import clock, metrics
from chalicelib.clock import wire_time
from chalicelib.db import connections, groups, keys, messages, outbox, pending, reactions
from chalicelib.db.messages import MessageRecord, record_of
from chalicelib.db.models import ClientMessageClaim, Conversation, Item, Message, Outbox
from chalicelib.db.mutes import in_force
from chalicelib.db.sessions import GROUP
from chalicelib.logs import log_event, log_exception
from chalicelib.realtime import mute_marks
from chalicelib.realtime.push import Deadline, Owed, Recipients, Replays, Undelivered, deliver, encode
from chalicelib.services import conversation
from chalicelib.services.bot import BOT_ID
from chalicelib.ws import frames

Delivery = tuple[int, dict[str, Any]]
CONVERSATION_WORKERS = 8  # conversations of one batch delivered at the same time
NOT_PLANNED = None  # a record whose frames could not be worked out: it fails where it stands


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda's DynamoDB stream event in, `batchItemFailures` out (the mapping reports batch item failures).

    A record that fails stops its conversation; when time runs short (the Lambda `context`), no record is begun.
    The earliest record not delivered is reported, so the mapping retries from it, in order; what the batch
    delivered at or after it is written down first (one write, `pending.save_progress`), and the retry, which
    reads it in the same BatchGetItem as the connections, skips it. Failing to read fails the whole batch."""
    started = time.perf_counter()
    calls = metrics.begin()
    deadline = Deadline(context)
    records = event.get("Records") or []
    plans = _Plans()
    superseded = _superseded_reactions(records)
    planned = [[] if index in superseded else plans.plan(record) for index, record in enumerate(records)]
    sends = _sends(records)
    recipients = {user_id for deliveries in planned if deliveries for user_id, _ in deliveries}
    now = clock.now()
    reach, read_back = connections.reach(
        recipients, now, consistent=True,
        also=[*([pending.progress_key(_sequence(records[0])), *mute_marks.session_keys(planned)] if recipients else []),
              *dict.fromkeys(key for message in sends.values() for key in _send_keys(message))])
    owed_before = pending.progress_of(read_back)
    stored = {(item.PK, item.SK): item for item in read_back if isinstance(item, ClientMessageClaim | Message)}
    mute_marks.mark(planned, plans.muted | mute_marks.muted_sessions(read_back, now))
    live = Recipients(reach)
    replays = Replays(deadline)
    owed: dict[int, Owed] = {}  # record index → recipients it still owes (empty: done)
    conversations: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        conversations.setdefault(_partition(record), []).append(index)

    def deliver_in_order(indexes: list[int]) -> int | None:
        """One conversation's records, in stream order; the index of the first not delivered, if any."""
        for index in indexes:
            deliveries = planned[index]
            before = owed_before.get(_sequence(records[index]))
            if before == {}:
                owed[index] = {}
                continue  # delivered by the attempt that reported the failure
            if deadline.near():
                return index
            try:
                if deliveries is NOT_PLANNED:
                    raise RuntimeError("the record's frames could not be worked out")
                if index in sends and not _settled(sends[index], stored):
                    owed[index] = {}
                    continue  # an empty sequence: another one holds this message's client id
                owed[index] = deliver([(user_id, encode(frame)) for user_id, frame in deliveries or []],
                                      _ordering_key(records[index]), live, replays, before) if deliveries else {}
            except Exception as error:
                if isinstance(error, Undelivered):
                    owed[index] = error.owed
                log_exception("delivery failed; the record and those after it are retried",
                              sequence=_sequence(records[index]))
                return index
            if owed[index]:
                return index
        return None

    outcomes = _run_each(deliver_in_order, list(conversations.values()))
    replayed = replays.wait()
    failed = min((index for index in outcomes if index is not None), default=None)
    failures = []
    if failed is not None:
        failures = [{"itemIdentifier": _sequence(records[failed])}]
        _save_progress(records, failed, owed)
    log_event(kind="delivery", records=len(records), conversations=len(conversations), replayed=replayed,
              failed_at=failed, latency_ms=round((time.perf_counter() - started) * 1000, 2),
              aws_calls=metrics.end(calls))
    return {"batchItemFailures": failures}


def _save_progress(records: list[dict[str, Any]], failed: int, owed: dict[int, Owed]) -> None:
    """Its retry starts at `failed`: what was delivered from there on is not delivered again."""
    progress = {_sequence(records[index]): owed_by for index, owed_by in owed.items() if index >= failed}
    if not progress:
        return
    try:
        pending.save_progress(_sequence(records[failed]), progress, clock.now())
    except Exception:  # the retry then delivers those frames again, with the same ids
        log_exception("recording a failed batch's progress failed", sequence=_sequence(records[failed]))


def _sends(records: list[dict[str, Any]]) -> dict[int, MessageRecord]:
    """The batch's sends: record index → the message its head write carries."""
    found = {}
    for index, record in enumerate(records):
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") in ("INSERT", "MODIFY") and (image.get("T") or {}).get("S") == "Conversation":
            item = Item.from_raw_data(image)
            assert isinstance(item, Conversation)
            message = messages.sent_message(item)
            if message is not None:
                found[index] = message
    return found


def _send_keys(message: MessageRecord) -> list[tuple[str, str]]:
    return [messages.claim_key(message.form_id, message.msg_client_id),
            (message.conversation, keys.message_sk(message.seq))]


def _settled(message: MessageRecord, stored: Mapping[tuple[str, str], Item]) -> bool:
    claim_key, history_key = _send_keys(message)
    claimed = stored.get(claim_key)
    return messages.settle(message, claimed if isinstance(claimed, ClientMessageClaim) else None,
                           history_key in stored)


def _superseded_reactions(records: list[dict[str, Any]]) -> set[int]:
    """The reaction records a newer record of the same message in this batch follows: they make no frames. Nothing
    is lost on a retry: the failure reported is the earliest record not delivered, so the retry starts at or before
    the newer record (it stands after them), or the newer record was delivered already."""
    changes = [(index, _item_key(record)) for index, record in enumerate(records) if _is_reaction_change(record)]
    newest = {item: index for index, item in changes}
    return {index for index, item in changes if newest[item] != index}


def _is_reaction_change(record: dict[str, Any]) -> bool:
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return (record.get("eventName") in ("INSERT", "MODIFY") and (image.get("T") or {}).get("S") == "Reactions"
            and "by" in image)


class _Plans:
    """Works out each record's frames; a group's members are read once per batch."""

    def __init__(self) -> None:
        self._members: dict[int, list[int]] = {}
        self.muted: mute_marks.Muted = set()  # (member, GROUP, group) for members who muted the group

    def plan(self, record: dict[str, Any]) -> list[Delivery] | None:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") not in ("INSERT", "MODIFY") or not image:
            return []
        produce = PRODUCERS.get(str((image.get("T") or {}).get("S")))
        if produce is None:
            return []
        try:
            return produce(image, record["eventName"], self.members_of)
        except Exception:
            log_exception("working out a record's frames failed", sequence=_sequence(record))
            return NOT_PLANNED

    def members_of(self, group_id: int) -> list[int]:
        if group_id not in self._members:
            found = groups.members(group_id)
            self._members[group_id] = [member.user_id for member in found]
            now = clock.now()
            self.muted |= {(member.user_id, GROUP, group_id) for member in found if in_force(member.mute_until, now)}
        return self._members[group_id]


def _run_each(work: Callable[[list[int]], int | None], groups_of_records: list[list[int]]) -> list[int | None]:
    if len(groups_of_records) <= 1:
        return [work(group) for group in groups_of_records]
    # each conversation runs in a copy of this invocation's context, so its AWS calls count towards it
    contexts = [contextvars.copy_context() for _ in groups_of_records]
    return list(_conversation_pool().map(lambda ctx, group: ctx.run(work, group), contexts, groups_of_records))


_pool: ThreadPoolExecutor | None = None


def _conversation_pool() -> ThreadPoolExecutor:
    """Apart from the fan-out's pool: a conversation's delivery waits on its posts there."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=CONVERSATION_WORKERS, thread_name_prefix="conversation")
    return _pool


def _partition(record: dict[str, Any]) -> str:
    return str((((record.get("dynamodb") or {}).get("Keys") or {}).get("PK") or {}).get("S", ""))


def _item_key(record: dict[str, Any]) -> tuple[str, str]:
    stored_key = (record.get("dynamodb") or {}).get("Keys") or {}
    return _partition(record), str((stored_key.get("SK") or {}).get("S", ""))


def _sequence(record: dict[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def _ordering_key(record: dict[str, Any]) -> str:
    """Kept frames replay in this order: commit time, then the stream's order (the same on every retry)."""
    stream = record.get("dynamodb") or {}
    created_ms = int(float(stream.get("ApproximateCreationDateTime") or 0) * 1000)
    return f"{created_ms:015d}#{str(stream.get('SequenceNumber', '')):0>40}"


MembersOf = Callable[[int], list[int]]


def _sent_frames(image: dict[str, Any], event_name: str, members_of: MembersOf) -> list[Delivery]:
    """A send's write of its conversation head: the chat frame of the message it carries."""
    item = Item.from_raw_data(image)
    assert isinstance(item, Conversation)
    message = messages.sent_message(item)
    if message is None:
        return []  # a write of the head that was not a send (a block, a recall or an edit of the newest message)
    shaped = conversation.message_shape(message)
    sender = conversation.sender_brief(message)
    if message.channel_type == GROUP:
        return [(member, frames.chat(shaped, sender, member)) for member in members_of(message.to_id)]
    # to the recipient only, as in the origin: the sender's client draws its own bubble from the send's answer
    return [] if message.to_id == BOT_ID else [(message.to_id, frames.chat(shaped, sender))]


def _change_frames(image: dict[str, Any], event_name: str, members_of: MembersOf) -> list[Delivery]:
    """A change to a stored message (its history item's first write is no frame: the head's is)."""
    if event_name != "MODIFY":
        return []
    item = Item.from_raw_data(image)
    assert isinstance(item, Message)
    message = record_of(item)
    shaped = conversation.message_shape(message)
    frame = _change_frame(item, message, shaped)
    if frame is None:
        return []
    if message.channel_type == GROUP:
        return [(member, frame) for member in members_of(message.to_id)]
    return [(user_id, frame) for user_id in (message.to_id, message.form_id) if user_id != BOT_ID]


def _change_frame(item: Message, message: MessageRecord, shaped: dict[str, Any]) -> dict[str, Any] | None:
    """What a committed change to a stored message says, from the `change` it wrote (a recall written before
    `change` existed has only `recalled_at`)."""
    change = item.change or ("recall" if message.recalled_at else "")
    if change == "recall":
        return frames.recalled(shaped, message.recalled_by)
    if change == "edit" and not message.recalled_at:
        return frames.edited(shaped, wire_time(message.edited_at))
    return None


def _outbox_frames(image: dict[str, Any], event_name: str, members_of: MembersOf) -> list[Delivery]:
    item = Item.from_raw_data(image)
    assert isinstance(item, Outbox)
    return outbox.deliveries_of(item) if event_name == "INSERT" else []


def _reaction_frames(image: dict[str, Any], event_name: str, members_of: MembersOf) -> list[Delivery]:
    """A reaction change, with the counts it committed (db/reactions.py); the write that forgets an emoji after its
    last reaction was taken back removed `by`: it changes no count, and makes no frame."""
    if "by" not in image:
        return []
    summary = reactions.summary_of(image, 0)
    emoji = image["em"]["S"]
    to_id, channel_type = int(image["to_id"]["N"]), int(image["channel_type"]["N"])
    frame = frames.reaction(int(image["seq"]["N"]), to_id, channel_type, emoji, summary.counts.get(emoji, 0),
                            int(image["by"]["N"]), int(image["on"]["N"]),
                            [{"emoji": name, "count": count} for name, count in summary.counts.items()])
    if channel_type == GROUP:
        return [(member, frame) for member in members_of(to_id)]
    return [(user_id, frame) for user_id in (to_id, int(image["form_id"]["N"])) if user_id != BOT_ID]


# Each item type that makes frames, from the stream record's raw image (a reaction's per-emoji sets are attributes
# PynamoDB does not model). The cloud stream's filter passes exactly these types (infra DELIVERED_ITEM_TYPES).
PRODUCERS: dict[str, Callable[[dict[str, Any], str, MembersOf], list[Delivery]]] = {
    "Conversation": _sent_frames, "Message": _change_frames, "Outbox": _outbox_frames, "Reactions": _reaction_frames}

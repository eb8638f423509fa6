"""Verification: the table (each message stored once, gapless sequences, nothing stored for refused sends) and the
frames every socket received (each at least once per recipient, first arrivals in `id` order per conversation).

A frame repeated for a recipient (same conversation, same `id`) is `redelivered` when a killed batch of the delivery
handler had handled its record (a killed batch is retried whole, so what it pushed before dying is pushed again), and
`duplicated` (a failure) otherwise: a batch that reports a failure, or a replay, never repeats a frame."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.load.model import GROUP, Sent, World, conversation_key
from infra.load.sockets import Received

RECALLED = 1007
CHAT = 200
NOTICE_TYPES = (5, 6)  # group join/leave notices the server writes itself


@dataclass
class Findings:
    conversations: int = 0
    stored_messages: int = 0
    sequence_gaps: int = 0
    stored_duplicates: int = 0  # (sender, msg_client_id) stored more than once
    accepted_not_stored: int = 0
    stored_despite_error: int = 0
    unknown_outcome: int = 0  # no HTTP answer even after retries
    orphans: int = 0  # stored messages no request of the run accounts for
    lost: int = 0  # expected (recipient, frame) deliveries that never arrived
    duplicated: int = 0  # extra copies of a delivered frame with no delivery handler killed to explain them
    redelivered: int = 0  # extra copies of a delivered frame while the stack killed its delivery handler
    out_of_order: int = 0  # first arrivals at a recipient with a lower id than one it already got in that conversation
    recall_lost: int = 0
    recall_duplicated: int = 0
    recall_redelivered: int = 0
    recalls_not_stored: int = 0
    details: dict[str, list[str]] = field(default_factory=dict)  # a few examples per check

    def note(self, text: str, check: str = "other") -> None:
        examples = self.details.setdefault(check, [])
        if len(examples) < 20:
            examples.append(text)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_conversations(dynamodb: Any, table: str, conversations: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every `MSG#` item of each conversation, by Query (consistent), as plain values."""
    stored: dict[str, list[dict[str, Any]]] = {}
    for conversation in sorted(conversations):
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True,
                                  "KeyConditionExpression": "PK = :pk AND begins_with(SK, :msg)",
                                  "ExpressionAttributeValues": {":pk": {"S": conversation}, ":msg": {"S": "MSG#"}}}
        while True:
            page = dynamodb.query(**kwargs)
            items.extend({name: _plain(value) for name, value in item.items()} for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        stored[conversation] = items
    return stored


def users_with_pending(dynamodb: Any, table: str, user_ids: list[int]) -> list[int]:
    """Users with kept events (`USER#<id>` / `PENDING#…`) still in the table."""
    return [user_id for user_id in user_ids if dynamodb.query(
        TableName=table, ConsistentRead=True, Limit=1, KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":p": {"S": "PENDING#"}})["Items"]]


def undelivered(world: World) -> int:
    """Expected (recipient, chat frame) arrivals not seen yet: how far delivery is behind the accepted sends."""
    arrived = {_arrival_key(received) for received in world.received
               if received.frame.get("msg_code") == CHAT and "id" in received.frame}
    return sum(1 for sent in world.sent if sent.seq is not None for recipient in sent.recipients
               if (recipient, sent.conversation, sent.seq) not in arrived)


def _plain(value: dict[str, Any]) -> Any:
    kind, raw = next(iter(value.items()))
    return int(float(raw)) if kind == "N" else raw


def frame_conversation(frame: dict[str, Any]) -> str:
    return conversation_key(int(frame.get("channel_type") or 1), int(frame["form_id"]), int(frame["to_id"]))


Killed = frozenset[str] | None  # `send:`/`change:<conversation>:<id>` of records killed batches handled; None: unknown


def verify(world: World, stored: dict[str, list[dict[str, Any]]], killed: Killed) -> Findings:
    """`killed`: the messages whose records a killed delivery batch handled (repeats are expected only of those)."""
    found = Findings(conversations=len(stored), stored_messages=sum(len(items) for items in stored.values()))
    _check_store(world, stored, found)
    _check_delivery(world, found, killed)
    _check_recalls(world, stored, found, killed)
    return found


def _check_store(world: World, stored: dict[str, list[dict[str, Any]]], found: Findings) -> None:
    by_client: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for conversation, items in stored.items():
        seqs = sorted(int(item["seq"]) for item in items)
        if seqs != list(range(1, len(seqs) + 1)):
            found.sequence_gaps += 1
            found.note(f"{conversation}: sequences {seqs[:5]}…{seqs[-5:]} are not 1..{len(seqs)}")
        for item in items:
            by_client[(int(item["form_id"]), int(item["msg_client_id"]))].append(item)
    for client_key, copies in by_client.items():
        if len(copies) > 1:
            found.stored_duplicates += len(copies) - 1
            found.note(f"sender/msg_client_id {client_key} stored {len(copies)} times")
    ours = set()
    for sent in world.sent:
        key = (sent.sender, sent.client_id)
        ours.add(key)
        copies = by_client.get(key, [])
        if sent.answer.ok:
            if not any(int(item["seq"]) == sent.seq for item in copies):
                found.accepted_not_stored += 1
                found.note(f"accepted {key} (id {sent.seq}) not stored")
        elif sent.answer.status == 0:
            found.unknown_outcome += 1
        elif copies:
            found.stored_despite_error += 1
            found.note(f"{key} answered {sent.answer.kind} but is stored")
    for key, copies in by_client.items():
        if key not in ours and not all(int(item.get("msg_type", 0)) in NOTICE_TYPES for item in copies):
            found.orphans += len(copies)


def _check_delivery(world: World, found: Findings, killed: Killed) -> None:
    arrivals = [received for received in sorted(world.received, key=lambda r: r.at)
                if received.frame.get("msg_code") == CHAT and "id" in received.frame]
    counts = Counter(_arrival_key(received) for received in arrivals)
    _check_order(world, arrivals, found)
    for sent in world.sent:
        if sent.seq is None:
            continue
        for recipient in sent.recipients:
            got = counts.get((recipient, sent.conversation, sent.seq), 0)
            if got == 0:
                found.lost += 1
                timeline = [f"{at - sent.started:+.2f}s {event}" for at, event in world.users[recipient].socket.timeline
                            if -5 < at - sent.started < 30]
                found.note(f"user {recipient} never got {sent.conversation} id {sent.seq} from {sent.sender}; "
                           f"its socket around the send: {timeline}", "lost")
            elif got > 1:
                _count_repeats(found, killed, f"send:{sent.conversation}:{sent.seq}", got - 1, "",
                               f"user {recipient} got {sent.conversation} id {sent.seq} {got} times")


def _arrival_key(received: Received) -> tuple[int, str, int]:
    return received.user_id, frame_conversation(received.frame), int(received.frame["id"])


def _count_repeats(found: Findings, killed: Killed, record: str, extra: int, prefix: str, example: str) -> None:
    """Repeats are the documented consequence of a killed delivery batch that handled the record, and a failure
    otherwise."""
    check = f"{prefix}redelivered" if killed is not None and record in killed else f"{prefix}duplicated"
    setattr(found, check, getattr(found, check) + extra)
    found.note(example, check)


def _check_order(world: World, arrivals: list[Received], found: Findings) -> None:
    """Per recipient and conversation, over all the recipient's sockets in arrival order, the first arrival of each
    id must come after the first arrivals of every lower id; a repeat (a redelivery) is not an arrival."""
    sends = {(sent.conversation, sent.seq): sent for sent in world.sent if sent.seq is not None}
    first_seen: set[tuple[int, str, int]] = set()
    newest: dict[tuple[int, str], Received] = {}
    for received in arrivals:
        key = _arrival_key(received)
        if key in first_seen:
            continue
        first_seen.add(key)
        user_id, conversation, seq = key
        before = newest.get((user_id, conversation))
        if before is None or seq > int(before.frame["id"]):
            newest[(user_id, conversation)] = received
            continue
        found.out_of_order += 1
        found.note(f"user {user_id} got {conversation} id {seq} ({_how_it_came(world, sends, received)}) after id "
                   f"{before.frame['id']} ({_how_it_came(world, sends, before)})", "out_of_order")


def _how_it_came(world: World, sends: dict[tuple[str, int], Sent], received: Received) -> str:
    """Which socket got the frame, when, and when its send started: a frame sent before its socket opened came
    either from the replay of kept frames after the heartbeat or live but late; one sent after came live."""
    opened = next((at for at, event in world.users[received.user_id].socket.timeline
                   if event == f"opened {received.generation}"), None)
    text = f"socket {received.generation}"
    if opened is None:
        return text
    text += f" {received.at - opened:.2f} s after it opened"
    sent = sends.get((frame_conversation(received.frame), int(received.frame["id"])))
    if sent is not None:
        text += f", sent {sent.started - opened:+.2f} s from the open"
    return text


def _check_recalls(world: World, stored: dict[str, list[dict[str, Any]]], found: Findings,
                   killed: Killed) -> None:
    counts: Counter[tuple[int, str, int]] = Counter(
        (received.user_id, frame_conversation(received.frame), int(received.frame["id"]))
        for received in world.received if received.frame.get("msg_code") == RECALLED)
    for recall in world.recalls:
        message = recall.message
        if not recall.answer.ok or message.seq is None:
            continue
        items = [item for item in stored.get(message.conversation, []) if int(item["seq"]) == message.seq]
        if not items or not items[0].get("recalled_at"):
            found.recalls_not_stored += 1
            found.note(f"recall of {message.conversation} id {message.seq} not stored")
        recipients = message.recipients if message.channel == GROUP else frozenset((message.sender, message.to_id))
        for recipient in recipients:
            got = counts.get((recipient, message.conversation, message.seq), 0)
            if got == 0:
                found.recall_lost += 1
                found.note(f"user {recipient} never got the recall of {message.conversation} id {message.seq}")
            elif got > 1:
                _count_repeats(found, killed, f"change:{message.conversation}:{message.seq}", got - 1, "recall_",
                               f"user {recipient} got the recall of {message.conversation} id {message.seq} "
                               f"{got} times")

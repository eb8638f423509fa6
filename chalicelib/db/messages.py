"""Messages of a conversation: a send in three single-item writes (sequence, client-id claim, history item) that
senders of one conversation never contend on, history, recall.

A sequence is taken by the head write alone, so one can stay empty: when two sends of one client id race (the
second finds the claim taken), or when a head write is repeated after its answer was lost. History skips an empty
sequence and the delivery never delivers it (`settle`); ids stay increasing, not consecutive.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.conflicts import retrying
from chalicelib.db.message_extras import NO_EXTRAS, MessageExtras, extras_of
from chalicelib.db.models import (
    ClientMessageClaim,
    Conversation,
    Group,
    Item,
    Message,
    UserProfile,
    tag,
)
from chalicelib.db.mutes import NOT_SILENCED, Speaker, speaker_of
from chalicelib.db.transactions import failed_conditions, transaction
from chalicelib.db.users import User, profile_record

CLAIM_SK = "CLAIM"
CLAIM_DAYS = 30  # a retry of a client id is recognised this long
NOTICE_MSG_TYPE = 6  # a system line: group notices and recalled messages, as the web client draws them


@dataclass(frozen=True)
class MessageRecord:
    conversation: str
    seq: int
    msg_id: int
    msg_client_id: int
    form_id: int
    to_id: int
    channel_type: int
    msg_type: int
    content: str
    data: str
    send_time: float
    sender_name: str
    sender_avatar: str
    recalled_at: float = 0
    notice: str = ""
    recalled_by: int = 0
    edited_at: float = 0
    edit_count: int = 0
    extras: MessageExtras = NO_EXTRAS  # reply and mentions


@dataclass(frozen=True)
class SendContext:
    """Everything a send needs to know, read in one consistent BatchGetItem."""

    claimed: tuple[str, int] | None
    relation_found: bool
    sender: User | None
    group_members: int = 0  # when asked for: the group's member count, who a group send fans out to
    blocked_by: frozenset[int] = frozenset()  # private pairs: who of the two blocks the other (db/blocks.py)
    speaker: Speaker = NOT_SILENCED  # a group sender's role and silences (services/mutes.py)


class Blocked(Exception):
    """The peer blocks the sender (their id is in the head's `blocked_by`): nothing was written."""


def new_msg_id(now_ms: int) -> int:
    """Server message id: time-ordered, unique in practice, and below 2^53 so JavaScript keeps it exact."""
    return now_ms * 1000 + random.randrange(1000)


def record_of(item: Message) -> MessageRecord:
    return MessageRecord(
        conversation=item.PK, seq=int(item.seq), msg_id=int(item.msg_id), msg_client_id=int(item.msg_client_id),
        form_id=int(item.form_id), to_id=int(item.to_id), channel_type=int(item.channel_type),
        msg_type=int(item.msg_type), content=item.content, data=item.data, send_time=float(item.send_time),
        sender_name=item.sender_name, sender_avatar=item.sender_avatar, recalled_at=float(item.recalled_at),
        notice=item.notice or "", recalled_by=int(item.recalled_by or 0),
        edited_at=float(item.edited_at or 0), edit_count=int(item.edit_count or 0), extras=extras_of(item),
    )


def sent_message(head: Conversation) -> MessageRecord | None:
    """The message a send wrote onto the head, when this image of the head is that send's write (`fresh`)."""
    if not head.fresh or head.sent is None:
        return None
    attributes = json.loads(head.sent)
    if "at_ids" in attributes:
        attributes["at_ids"] = set(attributes["at_ids"])
    seq = int(head.last_seq)
    return record_of(Message(head.PK, keys.message_sk(seq), seq=seq, **attributes))


def send_context(conversation: str, sender_id: int, msg_client_id: int, relation: tuple[str, str] | None,
                 group_id: int | None = None) -> SendContext:
    """An earlier claim of this client id, the relation that allows sending, the sender's profile, the head's
    blocks, and with `group_id` the group's member count (for the sender's quota)."""
    wanted = [(conversation, keys.CONVERSATION_META_SK), claim_key(sender_id, msg_client_id),
              (keys.user_pk(sender_id), keys.PROFILE)]
    if relation is not None:
        wanted.append(relation)
    group = (keys.group_pk(group_id), keys.GROUP_META_SK) if group_id is not None else None
    if group is not None:
        wanted.append(group)
    claimed, relation_found, sender, group_members = None, relation is None, None, 0
    blocked_by: frozenset[int] = frozenset()
    speaker = NOT_SILENCED
    for item in Item.batch_get(wanted, consistent_read=True):
        key = (item.PK, item.SK)
        if key == relation:
            relation_found = True
            speaker = speaker_of(item, speaker)
        if isinstance(item, Group) and key == group:
            group_members = int(item.member_count)
            speaker = speaker_of(item, speaker)
        if isinstance(item, UserProfile) and key == (keys.user_pk(sender_id), keys.PROFILE):
            sender = profile_record(item)
        elif isinstance(item, Conversation):
            blocked_by = frozenset(int(user_id) for user_id in item.blocked_by or ())
        elif isinstance(item, ClientMessageClaim):
            claimed = (item.conversation, int(item.seq))
    return SendContext(claimed, relation_found, sender, group_members, blocked_by, speaker)


def claim_key(sender_id: int, msg_client_id: int) -> tuple[str, str]:
    return keys.client_message_pk(sender_id, msg_client_id), CLAIM_SK


@retrying()
def take_sequence(message: MessageRecord, refused_by: int | None = None) -> int:
    """A send's commit point: one UpdateItem of the conversation head takes the next sequence (an increment, so
    senders of one conversation never refuse each other) and writes the message onto the head, marked `fresh`.
    That write's stream record is the message's delivery (realtime/delivery.py): one head, so its records keep the
    order in which the sequences were taken. Raises Blocked when `refused_by` blocks the sender meanwhile.

    What follows (`claim`, then `store`) is finished by the delivery if the sender stops before it (`settle`).
    """
    head = Conversation(message.conversation, keys.CONVERSATION_META_SK)
    sent = {name: sorted(value) if isinstance(value, set) else value
            for name, value in _sent_attributes(message).items() if value is not None}
    actions: list[Action] = [
        tag(Conversation), Conversation.last_seq.add(1), Conversation.fresh.set(True),
        Conversation.sent.set(json.dumps(sent, ensure_ascii=False, separators=(",", ":"))),
        Conversation.last_content.remove(), Conversation.last_msg_type.set(message.msg_type),
        Conversation.last_sender.set(message.form_id), Conversation.last_send_time.set(message.send_time),
        Conversation.last_recalled_msg_type.set(0),
    ]
    try:
        head.update(actions=actions,
                    condition=~Conversation.blocked_by.contains(refused_by) if refused_by is not None else None)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Blocked(f"{refused_by} blocks the sender") from error
        raise
    return int(head.last_seq)


def _sent_attributes(message: MessageRecord) -> dict[str, Any]:
    return {"msg_id": message.msg_id, "msg_client_id": message.msg_client_id, "form_id": message.form_id,
            "to_id": message.to_id, "channel_type": message.channel_type, "msg_type": message.msg_type,
            "content": message.content, "data": message.data, "send_time": message.send_time,
            "sender_name": message.sender_name, "sender_avatar": message.sender_avatar,
            "notice": message.notice or None, **message.extras.attributes()}


@retrying()
def claim(message: MessageRecord) -> tuple[str, int] | None:
    """Take the sender's client id for `message` at the sequence it took; None when it is held by exactly that
    (taken now, or already by the delivery or an earlier try of this very write), else where the message holding
    it is: a retry of the same client id got there first, or an earlier take of this same message (a head write
    repeated after a lost answer takes two sequences), and this sequence stays empty."""
    item = ClientMessageClaim(*claim_key(message.form_id, message.msg_client_id), conversation=message.conversation,
                              seq=message.seq, msg_id=message.msg_id,
                              expires_at=int(message.send_time) + CLAIM_DAYS * 86400)
    try:
        item.save(condition=ClientMessageClaim.PK.does_not_exist()
                  | ((ClientMessageClaim.msg_id == message.msg_id) & (ClientMessageClaim.seq == message.seq)))
        return None
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    holder = ClientMessageClaim.get(*claim_key(message.form_id, message.msg_client_id), consistent_read=True)
    return holder.conversation, int(holder.seq)


@retrying()
def store(message: MessageRecord) -> None:
    """The message's history item, written once: by its sender, or by the delivery when the sender stopped first
    (each sequence is taken by one head write, so whoever writes it writes the same message)."""
    item = Message(
        message.conversation, keys.message_sk(message.seq), seq=message.seq, **_sent_attributes(message))
    try:
        item.save(condition=Message.PK.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def settle(message: MessageRecord, claimed: ClientMessageClaim | None, stored: bool) -> bool:
    """The delivery's half of a send whose head write it read (`claimed` and `stored`: what it read of the claim
    and of the history item, in its batch's BatchGetItem). True when `message` holds its client id (taking it if
    nobody did yet: the sender stopped after its head write) and its history item exists (written here if not);
    False when another sequence holds it: this one stays empty and is not delivered."""
    if claimed is None:
        if claim(message) is not None:
            return False
    elif (claimed.conversation, int(claimed.seq), int(claimed.msg_id or 0)) != (message.conversation, message.seq,
                                                                                message.msg_id):
        return False
    if not stored:
        store(message)
    return True


def get(conversation: str, seq: int) -> MessageRecord | None:
    """One message, read strongly consistent (what a retry of its client id answers)."""
    try:
        return record_of(Message.get(conversation, keys.message_sk(seq), consistent_read=True))
    except Message.DoesNotExist:
        return None


def history(conversation: str, before_seq: int | None, limit: int, after_seq: int = 0) -> list[MessageRecord]:
    """Newest first, strictly before the cursor and after `after_seq`: one Query reading at most `limit` items."""
    if before_seq is not None and before_seq <= after_seq + 1:
        return []
    condition: Condition = (Item.SK.between(keys.message_sk(after_seq + 1), keys.message_sk(before_seq - 1))
                            if before_seq else
                            Item.SK.between(keys.message_sk(after_seq + 1), keys.message_sk(10**keys.SEQ_WIDTH - 1))
                            if after_seq else Item.SK.startswith(keys.MESSAGE_PREFIX))
    return [record_of(item) for item in Item.query(conversation, condition, scan_index_forward=False, limit=limit)
            if isinstance(item, Message)]


@dataclass(frozen=True)
class RecallContext:
    message: MessageRecord | None
    last_seq: int
    recaller: User | None
    group_members: int = 0


def recall_context(conversation: str, seq: int, recaller_id: int, group_id: int | None = None) -> RecallContext:
    """The message, the conversation's last sequence and the recaller's profile, in one BatchGetItem; with
    `group_id` the group's member count too (who the recall is pushed to, for the recaller's quota)."""
    message, last_seq, recaller, group_members = None, 0, None, 0
    wanted = [(conversation, keys.message_sk(seq)), (conversation, keys.CONVERSATION_META_SK),
              (keys.user_pk(recaller_id), keys.PROFILE)]
    if group_id is not None:
        wanted.append((keys.group_pk(group_id), keys.GROUP_META_SK))
    for item in Item.batch_get(wanted, consistent_read=True):
        if isinstance(item, Group):
            group_members = int(item.member_count)
        elif isinstance(item, Message):
            message = record_of(item)
        elif isinstance(item, Conversation):
            last_seq = int(item.last_seq)
        elif isinstance(item, UserProfile):
            recaller = profile_record(item)
    return RecallContext(message, last_seq, recaller, group_members)


def recall(message: MessageRecord, now: float, notice: str, *, recalled_by: int, is_last: bool,
           sender_id: int | None, not_before: float | None) -> bool:
    """Replace a message's text with `notice` (its data is dropped) and mark it recalled; False when the
    conditions no longer hold. The last message also turns the conversation's preview into the notice, in the same
    transaction; if another message came first, the message alone is recalled (it can never be last again).

    `sender_id` restricts to that sender's messages, `not_before` to messages sent after that time.
    """
    item = Message(message.conversation, keys.message_sk(message.seq))
    condition = Message.PK.exists() & (Message.recalled_at == 0)
    if sender_id is not None:
        condition &= Message.form_id == sender_id
    if not_before is not None:
        condition &= Message.send_time >= not_before
    actions: list[Action] = [Message.recalled_at.set(now), Message.recalled_by.set(recalled_by),
                             Message.content.set(notice), Message.data.set(""), Message.change.set("recall")]
    if is_last:
        try:
            with transaction() as tx:
                tx.update(item, actions=actions, condition=condition)
                tx.update(Conversation(message.conversation, keys.CONVERSATION_META_SK), actions=[
                    Conversation.fresh.remove(),
                    Conversation.last_content.set(notice[:200]), Conversation.last_msg_type.set(NOTICE_MSG_TYPE),
                    Conversation.last_recalled_msg_type.set(message.msg_type),
                ], condition=Conversation.last_seq == message.seq)
            return True
        except TransactWriteError as error:
            failed = failed_conditions(error)
            if 0 in failed:
                return False
            if failed != [1]:
                raise
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True

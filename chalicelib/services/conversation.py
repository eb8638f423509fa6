"""The conversation machinery shared by private and group chat: sequence, idempotency, persist-then-push."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.config import get_settings
from chalicelib.db import conflicts, messages, sessions
from chalicelib.db.conversations import ConversationHead
from chalicelib.db.message_extras import NO_EXTRAS, MessageExtras
from chalicelib.db.messages import MessageRecord
from chalicelib.db.sessions import GROUP
from chalicelib.db.users import User
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.services import mutes, references

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 100
BLOCKED_BY_PEER = "对方已将你拉黑 (this user has blocked you), so you cannot send them messages"


@dataclass(frozen=True)
class Posted:
    message: MessageRecord
    sender: User
    created: bool


def message_shape(message: MessageRecord) -> dict[str, Any]:
    """§2.21: what a send answers, with the server's msg_id, send_time and the history id; group notices add
    their `notice` kind."""
    notice = {"notice": message.notice} if message.notice else {}
    return {"id": message.seq, "msg_id": message.msg_id, "msg_client_id": message.msg_client_id, "msg_code": 200,
            "form_id": message.form_id, "to_id": message.to_id, "msg_type": message.msg_type,
            "channel_type": message.channel_type, "message": message.content, "send_time": wire_time(message.send_time),
            "data": message.data, "user_id": 0, **notice, **references.wire(message.extras)}


def shown_type(message: MessageRecord) -> int:
    """A recalled message is listed as the system line that replaced it; its own type is `recalled_msg_type`."""
    return messages.NOTICE_MSG_TYPE if message.recalled_at else message.msg_type


def recalled_type(message: MessageRecord) -> int:
    return message.msg_type if message.recalled_at else 0


def sender_brief(message: MessageRecord) -> dict[str, Any]:
    return {"id": message.form_id, "name": message.sender_name, "avatar": message.sender_avatar}


def post(*, conversation: str, sender_id: int, to_id: int, channel_type: int, msg_type: int, content: str,
         data: str | None, msg_client_id: int, relation: tuple[str, str] | None, refusal: str,
         data_from_sender: bool = False, notice: str = "", counted: bool = False,
         extras: Callable[[], MessageExtras] | None = None) -> Posted:
    """Store a message with the conversation's next sequence; a retry of the same client id returns the original.

    `relation` is the item that must exist for the sender to post here (friendship or membership); without it
    the answer is `refusal` (1003) and nothing is stored. With `data_from_sender` the message's `data` is the
    server's JSON of the sender profile, never the client's. A `counted` send takes its units from the sender's
    `messages` quota (limits.message_units: its size and recipients, the peer or every member of the group) once
    its checks passed and before anything is stored; a retry of a stored send takes none. `extras`
    (services/references.py) checks and reads a reply's target and the mentions once the sender may post, before
    the quota is taken.

    Three single-item writes, none of which waits on another sender (db/messages.py): the head takes the sequence
    (the commit point: from there the message is delivered, by the delivery finishing the rest if this request
    stops), the claim takes the client id, the history item is written. A request that answers an error after the
    head write (a lost connection, DynamoDB unavailable) may still have sent the message: its retry with the same
    client id answers it.
    """
    context = messages.send_context(conversation, sender_id, msg_client_id, relation,
                                    to_id if counted and channel_type == GROUP else None)
    if context.claimed is not None:
        return Posted(_claimed(context.claimed), _required(context.sender), created=False)
    if not context.relation_found:
        raise Forbidden(refusal)
    refused_by = None if channel_type == GROUP else to_id
    if refused_by in context.blocked_by:
        raise Forbidden(BLOCKED_BY_PEER)
    sender = _required(context.sender)
    mutes.check_may_speak(context.speaker, clock.now())
    found = extras() if extras is not None else NO_EXTRAS
    units = 0
    if counted:
        recipients = (context.group_members if channel_type == GROUP else 1) + references.extra_recipients(found)
        units = limits.message_units(recipients, content + (data or ""))
        limits.spend("messages", sender_id, units, "too many messages")
    now = clock.now()
    payload = data or ""
    if data_from_sender:
        payload = json.dumps({"id": sender.id, "name": sender.name, "avatar": sender.avatar, "email": ""},
                             ensure_ascii=False)
    record = MessageRecord(
        conversation=conversation, seq=0, msg_id=messages.new_msg_id(int(now * 1000)), msg_client_id=msg_client_id,
        form_id=sender_id, to_id=to_id, channel_type=channel_type, msg_type=msg_type, content=content,
        data=payload, send_time=now, sender_name=sender.name, sender_avatar=sender.avatar, notice=notice,
        extras=found,
    )
    try:
        record = replace(record, seq=messages.take_sequence(record, refused_by))
    except messages.Blocked as blocked:  # blocked since the context was read
        if units:
            limits.give_back("messages", sender_id, units)
        raise Forbidden(BLOCKED_BY_PEER) from blocked
    holder = messages.claim(record)
    if holder is not None:  # a retry of this client id, or a repeat of this very head write, holds it
        original = _claimed(holder)
        return Posted(original, sender, created=original.msg_id == record.msg_id)
    messages.store(record)
    return Posted(record, sender, created=True)


@conflicts.retrying()
def _claimed(holder: tuple[str, int]) -> MessageRecord:
    """The message holding a client id. Its history item is written right after the claim (by its sender, or by
    the delivery when the sender stopped between the two): a retry meeting that moment reads again after the
    retrying's pauses (the same client id sent twice at once), and is asked to come back (Busy) when the item is
    still missing after them (its sender stopped and the delivery runs behind)."""
    original = messages.get(*holder)
    if original is None:
        raise conflicts.LostRace("the message with this msg_client_id is still being stored")
    return original


def _required(sender: User | None) -> User:
    if sender is None:
        raise InvalidInput("sender does not exist")
    return sender


@dataclass(frozen=True)
class Page:
    messages: list[MessageRecord]  # ascending
    size: int
    total: int
    read_to: int = 0  # the read position this page moved mine to (0: it did not move)
    read_others: bool = False  # the move passed a message someone else sent (or may have: older than the page)


def history_page(conversation_key: str, me: int, channel_type: int, peer_id: int, page: int | None,
                 page_size: int | None, head: ConversationHead | None, after_seq: int = 0) -> Page:
    """Newest page first, ascending within it; `page` is the id cursor (exclusive); nothing up to `after_seq`
    (a group member's join); `head` is the conversation's, read by the caller with what else it needs. The first
    page moves my read position forward to its newest message; whether that newly read someone else's message
    decides a receipt (my own messages past my old position tell the peer nothing)."""
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    newest_first = messages.history(conversation_key, page, size, after_seq)
    moved_from = sessions.mark_read(me, channel_type, peer_id, newest_first[0].seq) \
        if page is None and newest_first else None
    found = Page(list(reversed(newest_first)), size, max(0, (head.last_seq if head else 0) - after_seq))
    if moved_from is None:
        return found
    unseen_older = newest_first[-1].seq > moved_from + 1 and len(newest_first) == size
    others = unseen_older or any(item.form_id != me and item.seq > moved_from for item in newest_first)
    return replace(found, read_to=newest_first[0].seq, read_others=others)


def recall(conversation_key: str, seq: int, me: int, *, moderator: bool, group_id: int | None = None
           ) -> MessageRecord | None:
    """Recall a message: its sender within the window, or a moderator at any time. Its text becomes the line
    "<who recalled> 撤回了一条消息" (also the session preview when it was the last message). A recall takes its
    units from the recaller's `messages` quota (10 + who it is pushed to: the peer, or the members of `group_id`)
    once its checks passed.

    Returns the recalled message, or None when it had already been recalled (a no-op success).
    """
    spent: list[bool] = []

    @conflicts.retrying()
    def attempt() -> MessageRecord | None:
        now = clock.now()
        window = get_settings().recall_window_seconds
        context = messages.recall_context(conversation_key, seq, me, group_id)
        current = context.message
        if current is None:
            raise InvalidInput("message not found")
        if current.form_id != me and not moderator:
            raise Forbidden("you can only recall your own messages")
        if current.recalled_at:
            return None
        if not moderator and current.send_time < now - window:
            raise InvalidInput(f"messages can only be recalled within {window} seconds")
        if not spent:
            recipients = context.group_members if group_id is not None else 1
            limits.spend("messages", me, limits.message_units(recipients, current.content),
                         "too many message actions")
            spent.append(True)
        notice = f"{context.recaller.name if context.recaller else me} 撤回了一条消息"
        if not messages.recall(current, now, notice, recalled_by=me, is_last=context.last_seq == seq,
                               sender_id=None if moderator else me, not_before=None if moderator else now - window):
            return None  # recalled by someone else meanwhile: the only change a message can go through
        return replace(current, content=notice, data="", recalled_at=now, recalled_by=me)

    return attempt()

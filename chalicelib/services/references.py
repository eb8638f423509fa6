"""Replies and mentions: what a send may refer to, checked before it is stored, and how it is shown.

A reply names a message of the same conversation by its history `id`; the stored message keeps a quote of it (its
first 100 characters) taken when written, and history shows the quote recalled once its message is recalled.
Mentions name members of the group (`at_ids`) or all of them (`at_all`, owner and admins only)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.db import mentions, message_extras
from chalicelib.db.groups import ADMIN, OWNER, GroupRecord
from chalicelib.db.message_extras import NO_EXTRAS, MessageExtras, Quote
from chalicelib.db.messages import MessageRecord, record_of
from chalicelib.db.sessions import SessionRecord
from chalicelib.errors import Forbidden, InvalidInput

QUOTE_CHARS = 100
MAX_AT_IDS = 50
NOT_IN_CONVERSATION = "reply_to is not a message of this conversation"


def resolve(me: int, *, conversation: str, group_id: int | None, reply_to: int | None, at_ids: list[int] | None,
            at_all: int, not_a_member: str) -> MessageExtras:
    """The extras of a send, checked: nothing is read for a plain send, else one BatchGetItem (the replied-to
    message, and in a group the sender's and the mentioned members' memberships)."""
    mentioned = tuple(sorted(set(at_ids or ())))
    if reply_to is None and not mentioned and not at_all:
        return NO_EXTRAS
    if group_id is None and (mentioned or at_all):
        raise InvalidInput("at_ids and at_all are for group messages only")
    if me in mentioned:
        raise InvalidInput("at_ids must not include yourself")
    if len(mentioned) > MAX_AT_IDS:
        raise InvalidInput(f"at_ids may hold at most {MAX_AT_IDS} members")
    found = message_extras.read_references(conversation, reply_to, group_id,
                                           [me, *mentioned] if group_id is not None else [])
    joined_seq = 0
    if group_id is not None:
        sender = found.members.get(me)
        if sender is None:
            raise Forbidden(not_a_member)
        joined_seq = sender.joined_seq
        missing = [uid for uid in mentioned if uid not in found.members]
        if missing:
            raise InvalidInput(f"at_ids must be members of this group: {missing}")
        if at_all and sender.role not in (OWNER, ADMIN):
            raise Forbidden("only the owner or an admin can mention everyone (at_all)")
    target = record_of(found.message) if found.message is not None else None
    return MessageExtras(_quote(target, reply_to, joined_seq), mentioned, 1 if at_all else 0)


def _quote(target: MessageRecord | None, reply_to: int | None, joined_seq: int) -> Quote | None:
    if reply_to is None:
        return None
    if target is None or target.seq <= joined_seq:  # a member sees nothing from before their join
        raise InvalidInput(NOT_IN_CONVERSATION)
    if target.recalled_at:
        raise InvalidInput("you cannot reply to a recalled message")
    if target.notice:
        raise InvalidInput("you cannot reply to a group notice")
    return Quote(target.seq, target.form_id, target.msg_type, target.content[:QUOTE_CHARS])


def extra_recipients(extras: MessageExtras) -> int:
    """What mentions add to a send's cost: a session write per mentioned member, one group write for `at_all`."""
    return len(extras.at_ids) + extras.at_all


def wire(extras: MessageExtras, *, quote_recalled: bool = False) -> dict[str, Any]:
    """The fields a send's answer, its 200 frame and history add: only those the message has."""
    fields: dict[str, Any] = {}
    if extras.reply is not None:
        quote = extras.reply
        fields["reply_to"] = quote.id
        fields["reply"] = {"id": quote.id, "form_id": quote.form_id, "msg_type": quote.msg_type,
                           "content": "" if quote_recalled else quote.content, "recalled": 1 if quote_recalled else 0}
    if extras.at_ids or extras.at_all:
        fields["at_ids"] = list(extras.at_ids)
        fields["at_all"] = extras.at_all
    return fields


def history_fields(page: Iterable[MessageRecord]) -> dict[int, dict[str, Any]]:
    """Each message's extras as history shows them, by `id`: a quote whose message was recalled since shows it
    recalled. Targets on the page are known; the others cost one BatchGetItem (none when the page quotes none)."""
    listed = list(page)
    on_page = {message.seq: message for message in listed}
    quoted = {message.extras.reply.id for message in listed if message.extras.reply is not None}
    recalled = {seq for seq in quoted if seq in on_page and on_page[seq].recalled_at}
    conversation = listed[0].conversation if listed else ""
    recalled |= message_extras.recalled_among(conversation, (seq for seq in quoted if seq not in on_page))
    return {message.seq: wire(message.extras, quote_recalled=message.extras.reply is not None
                              and message.extras.reply.id in recalled)
            for message in listed if message.extras != NO_EXTRAS}


def remember_mentions(message: MessageRecord) -> None:
    """After a group message with mentions committed: the mentioned members' sessions, or the group for `at_all`,
    remember it, so their sessions show `at_me` until their read position passes it."""
    if message.extras.at_ids:
        mentions.mention_members(message.to_id, list(message.extras.at_ids), message.seq)
    if message.extras.at_all:
        mentions.mention_everyone(message.to_id, message.seq, message.form_id)


def at_me(session: SessionRecord, group: GroupRecord | None) -> int:
    """1 while my read position is before the newest message mentioning me (by id, or everyone by someone else)."""
    if group is None:
        return 0
    named = session.mention_seq > session.read_seq
    everyone = group.at_all_by != session.owner_id and group.at_all_seq > max(session.read_seq, session.history_from)
    return 1 if named or everyone else 0

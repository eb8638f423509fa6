"""What a message carries beyond the origin's fields: the message it replies to (with a quote of it, taken when it
was written) and its mentions. Stored on the Message item; read back with it."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.db import keys
from chalicelib.db.groups import MemberRecord
from chalicelib.db.models import GroupMember, Item, Message


@dataclass(frozen=True)
class Quote:
    """The replied-to message as it was when the reply was written (its first 100 characters)."""

    id: int
    form_id: int
    msg_type: int
    content: str


@dataclass(frozen=True)
class MessageExtras:
    reply: Quote | None = None
    at_ids: tuple[int, ...] = ()  # the members mentioned, ascending
    at_all: int = 0

    def attributes(self) -> dict[str, Any]:
        """The Message item's attributes for these extras (none for a plain message)."""
        found: dict[str, Any] = {}
        if self.reply is not None:
            found["reply_to"] = self.reply.id
            found["quote"] = json.dumps({"form_id": self.reply.form_id, "msg_type": self.reply.msg_type,
                                         "content": self.reply.content}, ensure_ascii=False)
        if self.at_ids:
            found["at_ids"] = set(self.at_ids)
        if self.at_all:
            found["at_all"] = 1
        return found


NO_EXTRAS = MessageExtras()


def extras_of(item: Message) -> MessageExtras:
    reply = None
    if item.reply_to:
        quoted = json.loads(item.quote or "{}")
        reply = Quote(int(item.reply_to), int(quoted.get("form_id", 0)), int(quoted.get("msg_type", 0)),
                      str(quoted.get("content", "")))
    return MessageExtras(reply, tuple(sorted(int(uid) for uid in item.at_ids or ())), int(item.at_all or 0))


@dataclass(frozen=True)
class References:
    """A reply's target and the members a send names, read at once."""

    message: Message | None
    members: dict[int, MemberRecord]


def read_references(conversation: str, reply_to: int | None, group_id: int | None,
                    member_ids: Iterable[int]) -> References:
    """One consistent BatchGetItem: the message `reply_to` of the conversation, and the membership items of
    `member_ids` in `group_id` (at most 99 of them)."""
    wanted: list[tuple[str, str]] = []
    if reply_to is not None:
        wanted.append((conversation, keys.message_sk(reply_to)))
    if group_id is not None:
        wanted += [(keys.group_pk(group_id), keys.member_sk(uid)) for uid in dict.fromkeys(member_ids)]
    message, members = None, {}
    for item in Item.batch_get(wanted, consistent_read=True) if wanted else ():
        if isinstance(item, Message):
            message = item
        elif isinstance(item, GroupMember):
            members[int(item.user_id)] = MemberRecord(int(item.group_id), int(item.user_id), item.role,
                                                      float(item.joined_at), int(item.joined_seq or 0))
    return References(message, members)


def recalled_among(conversation: str, seqs: Iterable[int]) -> set[int]:
    """Which of these messages of the conversation were recalled (one BatchGetItem per 100; none when empty)."""
    wanted = [(conversation, keys.message_sk(seq)) for seq in dict.fromkeys(seqs)]
    if not wanted:
        return set()
    return {int(item.seq) for item in Item.batch_get(wanted, attributes_to_get=["PK", "SK", "T", "seq", "recalled_at"])
            if isinstance(item, Message) and item.recalled_at}

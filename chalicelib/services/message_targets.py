"""Finding the stored message an action (edit, pin, reaction, listing its versions) is about, as the caller may
see it: in a private conversation of mine, or in a group I am a member of and from my join on."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.db import keys, message_targets
from chalicelib.db.message_targets import Key, Target
from chalicelib.db.messages import MessageRecord
from chalicelib.db.sessions import GROUP
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.services.conversation import BLOCKED_BY_PEER
from chalicelib.services.groups import NOT_A_MEMBER


@dataclass(frozen=True)
class Located:
    conversation: str
    channel_type: int
    to_id: int
    message: MessageRecord
    target: Target

    @property
    def recipients(self) -> int:
        """Who a change of it is pushed to, for the caller's quota: the peer, or every member."""
        return self.target.group_members if self.channel_type == GROUP else 1

    @property
    def refused_by(self) -> int | None:
        """Whose block refuses my changes of this message: the private peer; nobody in a group."""
        return None if self.channel_type == GROUP else self.to_id

    @property
    def is_last(self) -> bool:
        return self.target.head is not None and self.target.head.last_seq == self.message.seq


def locate(me: int, to_id: int, channel_type: int, seq: int, also: Iterable[Key] = ()) -> Located:
    """One consistent BatchGetItem; 1003 for a group I am not in, 1000 for a message I cannot see."""
    if channel_type == GROUP:
        conversation = keys.group_conversation(to_id)
        target = message_targets.read(conversation, seq, me, to_id, also)
        if target.member is None:
            raise Forbidden(NOT_A_MEMBER)
        visible = target.message is not None and seq > target.member.joined_seq
    else:
        conversation = keys.private_conversation(me, to_id)
        target = message_targets.read(conversation, seq, me, None, also)
        visible = to_id != me and target.message is not None
    if not visible or target.message is None:
        raise InvalidInput("message not found")
    return Located(conversation, channel_type, to_id, target.message, target)


def refuse_if_blocked(located: Located) -> None:
    """A private peer who blocks me gets nothing more from me through this conversation. As it was read: a write
    that must not follow a block committed since carries `refused_by` into its conditions."""
    head = located.target.head
    if located.refused_by is not None and head is not None and located.refused_by in head.blocked_by:
        raise Forbidden(BLOCKED_BY_PEER)

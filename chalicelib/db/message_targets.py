"""What an action on a stored message (edit, pin, reaction) decides on, read in one consistent BatchGetItem: the
message, its conversation's head and, in a group, the caller's membership and the group's member count."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.db import keys
from chalicelib.db.conversations import ConversationHead, head_record
from chalicelib.db.groups import MemberRecord
from chalicelib.db.messages import MessageRecord, record_of
from chalicelib.db.models import Conversation, Group, GroupMember, Item, Message

Key = tuple[str, str]


@dataclass(frozen=True)
class Target:
    message: MessageRecord | None
    head: ConversationHead | None
    member: MemberRecord | None = None  # groups: the caller's membership
    group_members: int = 0  # groups: who a change is pushed to
    also: dict[Key, Item] = field(default_factory=dict)  # the extra items asked for, found


def read(conversation: str, seq: int, caller: int, group_id: int | None = None, also: Iterable[Key] = ()) -> Target:
    message_key, head_key = (conversation, keys.message_sk(seq)), (conversation, keys.CONVERSATION_META_SK)
    extra = set(also)
    wanted = [message_key, head_key, *extra]
    if group_id is not None:
        wanted += [(keys.group_pk(group_id), keys.member_sk(caller)), (keys.group_pk(group_id), keys.GROUP_META_SK)]
    message = head = member = None
    group_members = 0
    found: dict[Key, Item] = {}
    for item in Item.batch_get(wanted, consistent_read=True):
        key = (item.PK, item.SK)
        if key in extra:
            found[key] = item
        elif isinstance(item, Message):
            message = record_of(item)
        elif isinstance(item, Conversation):
            head = head_record(item)
        elif isinstance(item, GroupMember):
            member = MemberRecord(int(item.group_id), int(item.user_id), item.role, float(item.joined_at),
                                  int(item.joined_seq or 0))
        elif isinstance(item, Group):
            group_members = int(item.member_count)
    return Target(message, head, member, group_members, found)

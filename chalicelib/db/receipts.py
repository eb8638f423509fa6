"""Read receipts' data: the user's setting (`read_receipts` on the profile; absent is on) and, for a group message,
which members' read positions passed it."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.db import conflicts, keys
from chalicelib.db.groups import MemberRecord
from chalicelib.db.models import Item, Message, Session, UserProfile
from chalicelib.db.sessions import GROUP


@conflicts.retrying()
def set_read_receipts(user_id: int, on: bool) -> None:
    UserProfile(keys.user_pk(user_id), keys.PROFILE).update(
        actions=[UserProfile.read_receipts.set(1 if on else 0)], condition=UserProfile.PK.exists())


@dataclass(frozen=True)
class GroupReads:
    sender: int | None  # the message's sender; None when there is no such message
    read: list[int]
    unread: list[int]


def group_reads(group_id: int, seq: int, members: Iterable[MemberRecord]) -> GroupReads:
    """Of the members who were there when message `seq` was sent (joined before it), who read it and who did not:
    one BatchGetItem per 100 keys (the message, each member's group session and profile); members who turned read
    receipts off are in neither list."""
    present = [member for member in members if member.joined_seq < seq]
    conversation = keys.group_conversation(group_id)
    wanted = [(conversation, keys.message_sk(seq))]
    for member in present:
        wanted += [(keys.user_pk(member.user_id), keys.session_sk(GROUP, group_id)),
                   (keys.user_pk(member.user_id), keys.PROFILE)]
    read_seq: dict[int, int] = {}
    hidden: set[int] = set()
    sender = None
    for item in Item.batch_get(wanted):
        if isinstance(item, Message):
            sender = int(item.form_id)
        elif isinstance(item, Session):
            read_seq[int(item.owner_id)] = int(item.read_seq)
        elif isinstance(item, UserProfile) and item.read_receipts == 0:
            hidden.add(int(item.user_id))
    shown = sorted(member.user_id for member in present if member.user_id not in hidden)
    return GroupReads(sender, [uid for uid in shown if read_seq.get(uid, 0) >= seq],
                      [uid for uid in shown if read_seq.get(uid, 0) < seq])

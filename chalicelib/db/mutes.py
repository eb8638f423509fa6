"""Mutes: a member's own mute of a conversation (`mute_until` on their session, and on their membership for a group,
where the delivery reads it), an owner's or admin's silence of a member (`silenced_until` on the membership) and of
the whole group (`mute_all` on the group item). A send reads the membership and the group item anyway, so checking
a silence costs it nothing.

Times are unix seconds; -1 is forever, 0 (or absent) none."""
from __future__ import annotations

from dataclasses import dataclass, replace

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.db import conflicts, keys
from chalicelib.db.groups import ADMIN, OWNER
from chalicelib.db.models import Group, GroupMember, Item, Session
from chalicelib.db.sessions import GROUP
from chalicelib.db.transactions import failed_conditions, transaction

FOREVER = -1


def in_force(until: float, now: float) -> bool:
    return until == FOREVER or until > now


@dataclass(frozen=True)
class Speaker:
    """What decides whether a group member may speak: their role, their silence, the group's."""

    role: str = ""
    silenced_until: float = 0
    mute_all: int = 0


NOT_SILENCED = Speaker()


def speaker_of(item: Item, current: Speaker) -> Speaker:
    """`current` with what `item` (the sender's membership, or the group) says."""
    if isinstance(item, GroupMember):
        return replace(current, role=item.role, silenced_until=float(item.silenced_until or 0))
    if isinstance(item, Group):
        return replace(current, mute_all=int(item.mute_all or 0))
    return current


class NotAllowed(Exception):
    """The actor is no longer an owner or admin, or the target's role or membership changed."""


@conflicts.retrying()
def silence(group_id: int, actor_id: int, target_id: int, until: float, silenceable_roles: tuple[str, ...]) -> None:
    """One transaction: the actor is still the owner or an admin, the target still a member with one of
    `silenceable_roles`; NotAllowed otherwise (nothing written)."""
    try:
        with transaction() as tx:
            tx.condition_check(GroupMember, keys.group_pk(group_id), keys.member_sk(actor_id),
                               condition=GroupMember.role.is_in(OWNER, ADMIN))
            tx.update(GroupMember(keys.group_pk(group_id), keys.member_sk(target_id)),
                      actions=[GroupMember.silenced_until.set(until)],
                      condition=GroupMember.role.is_in(*silenceable_roles))
    except TransactWriteError as error:
        if failed_conditions(error):
            raise NotAllowed() from error
        raise


@conflicts.retrying()
def mute_everyone(group_id: int, actor_id: int, on: bool) -> None:
    """The group's `mute_all`, while the actor is still its owner or an admin and the group is active."""
    try:
        with transaction() as tx:
            tx.condition_check(GroupMember, keys.group_pk(group_id), keys.member_sk(actor_id),
                               condition=GroupMember.role.is_in(OWNER, ADMIN))
            tx.update(Group(keys.group_pk(group_id), keys.GROUP_META_SK), actions=[Group.mute_all.set(1 if on else 0)],
                      condition=Group.active == 1)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise NotAllowed() from error
        raise


@conflicts.retrying()
def mute_session(owner_id: int, channel_type: int, peer_id: int, until: float) -> bool:
    """My own mute of a conversation, on my session (and for a group on my membership too, in one transaction);
    False when I have no such session (or, in a group, am no member)."""
    session = Session(keys.user_pk(owner_id), keys.session_sk(channel_type, peer_id))
    try:
        if channel_type != GROUP:
            session.update(actions=[Session.mute_until.set(until)], condition=Session.PK.exists())
            return True
        with transaction() as tx:
            tx.update(session, actions=[Session.mute_until.set(until)], condition=Session.PK.exists())
            tx.update(GroupMember(keys.group_pk(peer_id), keys.member_sk(owner_id)),
                      actions=[GroupMember.mute_until.set(until)], condition=GroupMember.PK.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True

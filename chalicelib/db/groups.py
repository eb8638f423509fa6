"""Groups, memberships (group side and user side), and share invites.

Creating or growing a group writes in transactions of at most 96 items; a new group stays invisible
(`active` 0) until its last chunk is written, so no reader ever sees a half-made group.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.db import conflicts, keys, outbox, sessions
from chalicelib.db.conflicts import LostRace
from chalicelib.db.models import Conversation, Group, GroupInvite, GroupMember, GroupMembership, Item, Session
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.transactions import failed_conditions, transaction

OWNER, ADMIN, MEMBER = "owner", "admin", "member"
MEMBERS_PER_CHUNK = 24  # four items each (membership, user-side copy, session, session index)
REMOVALS_PER_TRANSACTION = 48  # two items each, plus the META update and the actor's condition check


@dataclass(frozen=True)
class GroupRecord:
    id: int
    owner_id: int
    name: str
    info: str
    avatar: str
    theme: str
    is_pwd: int
    password_hash: str | None
    hot: int
    created_at: float
    member_count: int
    at_all_seq: int = 0  # db/mentions.py: the newest message mentioning every member, and its sender
    at_all_by: int = 0


@dataclass(frozen=True)
class MemberRecord:
    group_id: int
    user_id: int
    role: str
    joined_at: float
    joined_seq: int = 0
    mute_until: float = 0  # db/mutes.py: the member's own mute of the group (-1 forever)


@dataclass(frozen=True)
class NewMember:
    user_id: int
    role: str
    session: SessionRecord | None  # None: the user already has a session for this group (revived instead)
    joined_seq: int = 0  # the group's last sequence when they join: they see what comes after


@dataclass(frozen=True)
class InviteRecord:
    token: str
    group_id: int
    created_by: int
    max_uses: int
    uses: int
    expire_time: int
    revoked: int


@dataclass(frozen=True)
class Departure:
    new_owner: int | None  # who became owner because the owner left
    dissolved: bool  # the last member left


class Conflict(Exception):
    pass


def _group(item: Group) -> GroupRecord:
    return GroupRecord(int(item.group_id), int(item.owner_id), item.name, item.info, item.avatar, item.theme,
                       int(item.is_pwd), item.password_hash, int(item.hot), float(item.created_at),
                       int(item.member_count), int(item.at_all_seq or 0), int(item.at_all_by or 0))


def _member(item: GroupMember) -> MemberRecord:
    return MemberRecord(int(item.group_id), int(item.user_id), item.role, float(item.joined_at),
                        int(item.joined_seq or 0), float(item.mute_until or 0))


def _add_member_writes(tx: TransactWrite, group_id: int, member: NewMember, now: float, revive_session: bool) -> None:
    """The membership carries the member's own mute of the group from the session they come back to (kept through
    their leaving, like the session's other settings), so a rejoining member's frames stay marked. The session's
    mute cannot change before this commits: muting a group session needs the membership (db/mutes.py)."""
    mute_until = member.session.mute_until if member.session is not None and member.session.mute_until else None
    tx.save(GroupMember(keys.group_pk(group_id), keys.member_sk(member.user_id), group_id=group_id,
                        user_id=member.user_id, role=member.role, joined_at=now, joined_seq=member.joined_seq,
                        mute_until=mute_until),
            condition=GroupMember.PK.does_not_exist())
    tx.save(GroupMembership(keys.user_pk(member.user_id), keys.member_of_sk(group_id), group_id=group_id,
                            role=member.role))
    if member.session is not None:
        if revive_session:
            sessions.add_revive(tx, member.session)
        else:
            sessions.add_create(tx, member.session)


def _chunks(members: list[NewMember]) -> Iterable[list[NewMember]]:
    for start in range(0, len(members), MEMBERS_PER_CHUNK):
        yield members[start:start + MEMBERS_PER_CHUNK]


def create(group: GroupRecord, members: list[NewMember], now: float, notify: dict[int, dict[str, Any]]) -> None:
    """Invisible META first with the first chunk, further chunks, then the flip to active with the outbox items of
    `notify` (a frame per member), so members hear of the group only once it is active."""
    meta = Group(keys.group_pk(group.id), keys.GROUP_META_SK, group_id=group.id, owner_id=group.owner_id,
                 name=group.name, info=group.info, avatar=group.avatar, theme=group.theme, is_pwd=group.is_pwd,
                 password_hash=group.password_hash, hot=0, created_at=group.created_at, member_count=len(members),
                 active=0)

    @conflicts.retrying()
    def write_chunk(index: int, chunk: list[NewMember]) -> None:
        with transaction() as tx:
            if index == 0:
                tx.save(meta, condition=Group.PK.does_not_exist())
            for member in chunk:
                _add_member_writes(tx, group.id, member, now, revive_session=False)

    for index, chunk in enumerate(_chunks(members)):
        write_chunk(index, chunk)

    @conflicts.retrying()
    def activate() -> None:
        with transaction() as tx:
            tx.update(meta, actions=[Group.active.set(1)])
            for chunk in _chunks(members):
                outbox.add(tx, keys.group_conversation(group.id), _notices(chunk, notify), now)

    activate()


def _notices(chunk: list[NewMember], notify: dict[int, dict[str, Any]]) -> list[outbox.Delivery]:
    return [(member.user_id, notify[member.user_id]) for member in chunk if member.user_id in notify]


def get_group(group_id: int) -> GroupRecord | None:
    try:
        item = Group.get(keys.group_pk(group_id), keys.GROUP_META_SK)
    except Group.DoesNotExist:
        return None
    return _group(item) if item.active else None


def get_groups(group_ids: Iterable[int]) -> dict[int, GroupRecord]:
    wanted = set(group_ids)
    if not wanted:
        return {}
    return {int(item.group_id): _group(item)
            for item in Item.batch_get([(keys.group_pk(gid), keys.GROUP_META_SK) for gid in wanted])
            if isinstance(item, Group) and item.active}


def membership(group_id: int, user_id: int) -> MemberRecord | None:
    try:
        return _member(GroupMember.get(keys.group_pk(group_id), keys.member_sk(user_id)))
    except GroupMember.DoesNotExist:
        return None


def members(group_id: int) -> list[MemberRecord]:
    """All members, one Query bounded by the MEMBER# prefix."""
    return [_member(item) for item in Item.query(keys.group_pk(group_id), Item.SK.startswith(keys.MEMBER_PREFIX))
            if isinstance(item, GroupMember)]


def group_ids_of(user_id: int) -> list[int]:
    return [int(item.group_id) for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.MEMBER_OF_PREFIX))
            if isinstance(item, GroupMembership)]


def existing_members(group_id: int, user_ids: Iterable[int]) -> set[int]:
    wanted = set(user_ids)
    if not wanted:
        return set()
    return {int(item.user_id) for item in Item.batch_get([(keys.group_pk(group_id), keys.member_sk(uid))
                                                           for uid in wanted]) if isinstance(item, GroupMember)}


def add_members(group_id: int, new_members: list[NewMember], revive: set[int], now: float, limit: int,
                notify: dict[int, dict[str, Any]], invite: str | None = None, held_seq: int | None = None) -> None:
    """Each chunk grows the member count only while the group is active and stays within `limit`; its members'
    frames of `notify` go to the outbox in the chunk's transaction.

    With `invite`, the (single-member) join also spends one use of that share token. With `held_seq`, each chunk
    commits only while the group's conversation is still at that sequence (the new members' `joined_seq`), so no
    message committed before the join is after it: LostRace otherwise, for the caller to read the sequence again.
    """

    @conflicts.retrying()
    def write_chunk(chunk: list[NewMember]) -> None:
        with transaction() as tx:
            if held_seq is not None:  # condition checks go first: its cancellation reason is index 0
                head_unmoved = Conversation.last_seq == held_seq
                tx.condition_check(Conversation, keys.group_conversation(group_id), keys.CONVERSATION_META_SK,
                                   condition=(Conversation.PK.does_not_exist() | head_unmoved) if held_seq == 0
                                   else head_unmoved)
            tx.update(Group(keys.group_pk(group_id), keys.GROUP_META_SK),
                      actions=[Group.member_count.add(len(chunk))],
                      condition=(Group.active == 1) & (Group.member_count <= limit - len(chunk)))
            for member in chunk:
                _add_member_writes(tx, group_id, member, now, revive_session=member.user_id in revive)
            if invite is not None:
                tx.update(GroupInvite(keys.invite_pk(invite), keys.GROUP_META_SK),
                          actions=[GroupInvite.uses.add(1)],
                          condition=(GroupInvite.revoked == 0) & (GroupInvite.expire_time > int(now))
                          & ((GroupInvite.max_uses == 0) | (GroupInvite.uses < GroupInvite.max_uses)))
            outbox.add(tx, keys.group_conversation(group_id), _notices(chunk, notify), now)

    try:
        for chunk in _chunks(new_members):
            write_chunk(chunk)
    except TransactWriteError as error:
        failed = failed_conditions(error)
        if held_seq is not None and 0 in failed:
            raise LostRace("a message was committed while joining") from error
        if failed:
            raise Conflict("membership changed meanwhile") from error
        raise


def _read_for_change(group_id: int) -> tuple[Group | None, list[MemberRecord]]:
    """The group's META and its members, read consistently (what a leave or removal decides on)."""
    try:
        meta: Group | None = Group.get(keys.group_pk(group_id), keys.GROUP_META_SK, consistent_read=True)
    except Group.DoesNotExist:
        meta = None
    listed = [_member(item) for item in Item.query(keys.group_pk(group_id), Item.SK.startswith(keys.MEMBER_PREFIX),
                                                    consistent_read=True) if isinstance(item, GroupMember)]
    return meta, listed


def _successor(others: list[MemberRecord]) -> int:
    """The longest-standing admin, else the longest-standing member."""
    admins = sorted((m for m in others if m.role == ADMIN), key=lambda m: (m.joined_at, m.user_id))
    return (admins or sorted(others, key=lambda m: (m.joined_at, m.user_id)))[0].user_id


def _delete_member(tx: TransactWrite, group_id: int, user_id: int, condition: Condition) -> None:
    tx.delete(GroupMember(keys.group_pk(group_id), keys.member_sk(user_id)), condition=condition)
    tx.delete(GroupMembership(keys.user_pk(user_id), keys.member_of_sk(group_id)))


@conflicts.retrying()
def leave(group_id: int, user_id: int, now: float) -> Departure | None:
    """`user_id` leaves; None when they are not a member of an active group.

    The transaction's conditions carry every decision, whatever else happens at the same moment: the last
    member (member_count 1) dissolves the group; the owner hands ownership to a member who still exists and
    only while still owner; anyone else leaves only while not owner and not last. When a condition fails,
    another change won the race: the step reads again and decides again.
    """
    meta, listed = _read_for_change(group_id)
    mine = next((m for m in listed if m.user_id == user_id), None)
    if meta is None or not meta.active or mine is None:
        return None
    others = [m for m in listed if m.user_id != user_id]
    group = Group(keys.group_pk(group_id), keys.GROUP_META_SK)
    alive = Group.active == 1
    new_owner = _successor(others) if others and int(meta.owner_id) == user_id else None
    try:
        with transaction() as tx:
            _delete_member(tx, group_id, user_id, GroupMember.PK.exists())
            if not others:
                tx.update(group, actions=[Group.member_count.add(-1), Group.active.set(0)],
                          condition=alive & (Group.member_count == 1))
            elif new_owner is not None:
                tx.update(group, actions=[Group.member_count.add(-1), Group.owner_id.set(new_owner)],
                          condition=alive & (Group.owner_id == user_id) & (Group.member_count > 1))
                tx.update(GroupMember(keys.group_pk(group_id), keys.member_sk(new_owner)),
                          actions=[GroupMember.role.set(OWNER)], condition=GroupMember.PK.exists())
                tx.update(GroupMembership(keys.user_pk(new_owner), keys.member_of_sk(group_id)),
                          actions=[GroupMembership.role.set(OWNER)], condition=GroupMembership.PK.exists())
            else:
                tx.update(group, actions=[Group.member_count.add(-1)],
                          condition=alive & (Group.owner_id != user_id) & (Group.member_count > 1))
    except TransactWriteError as error:
        if failed_conditions(error):
            raise conflicts.LostRace("the group changed meanwhile") from error
        raise
    _hide_session_of_former_member(group_id, user_id, now)
    return Departure(new_owner=new_owner, dissolved=not others)


def remove_members(group_id: int, actor_id: int, user_ids: list[int], removable_roles: tuple[str, ...],
                   now: float) -> None:
    """Removes memberships (both sides) and hides the removed users' group sessions.

    Conditions: the group is active, the actor is still its owner or an admin, no removed user is the owner,
    and each removed user is still a member with one of `removable_roles`. LostRace when any fails.
    """
    try:
        for start in range(0, len(user_ids), REMOVALS_PER_TRANSACTION):
            chunk = user_ids[start:start + REMOVALS_PER_TRANSACTION]
            conflicts.retrying()(_remove_chunk)(group_id, actor_id, chunk, removable_roles)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise conflicts.LostRace("membership changed meanwhile") from error
        raise
    for user_id in user_ids:
        _hide_session_of_former_member(group_id, user_id, now)


@conflicts.retrying()
def _hide_session_of_former_member(group_id: int, user_id: int, now: float) -> None:
    """After a leave or removal committed: hide the user's group session, in one transaction with the check that
    they are still not a member (whoever added them back between the two writes keeps their session shown), and
    only if the session exists."""
    try:
        with transaction() as tx:
            tx.condition_check(GroupMember, keys.group_pk(group_id), keys.member_sk(user_id),
                               condition=GroupMember.PK.does_not_exist())
            tx.update(Session(keys.user_pk(user_id), keys.session_sk(sessions.GROUP, group_id)),
                      actions=[Session.deleted_at.set(now)], condition=Session.PK.exists())
    except TransactWriteError as error:
        if not failed_conditions(error):
            raise


def _remove_chunk(group_id: int, actor_id: int, chunk: list[int], removable_roles: tuple[str, ...]) -> None:
    with transaction() as tx:
        tx.condition_check(GroupMember, keys.group_pk(group_id), keys.member_sk(actor_id),
                           condition=GroupMember.role.is_in(OWNER, ADMIN))
        tx.update(Group(keys.group_pk(group_id), keys.GROUP_META_SK), actions=[Group.member_count.add(-len(chunk))],
                  condition=(Group.active == 1) & ~Group.owner_id.is_in(*chunk))
        for user_id in chunk:
            _delete_member(tx, group_id, user_id, GroupMember.role.is_in(*removable_roles))


@conflicts.retrying()
def create_invite(invite: InviteRecord) -> None:
    GroupInvite(keys.invite_pk(invite.token), keys.GROUP_META_SK, group_id=invite.group_id,
                created_by=invite.created_by, max_uses=invite.max_uses, uses=0, expire_time=invite.expire_time,
                revoked=0, expires_at=invite.expire_time + 86400).save(condition=GroupInvite.PK.does_not_exist())


@conflicts.retrying()
def revoke_invite(token: str) -> None:
    GroupInvite(keys.invite_pk(token), keys.GROUP_META_SK).update(actions=[GroupInvite.revoked.set(1)],
                                                                  condition=GroupInvite.PK.exists())


def get_invite(token: str) -> InviteRecord | None:
    try:
        item = GroupInvite.get(keys.invite_pk(token), keys.GROUP_META_SK)
    except GroupInvite.DoesNotExist:
        return None
    return InviteRecord(token, int(item.group_id), int(item.created_by), int(item.max_uses), int(item.uses),
                        int(item.expire_time), int(item.revoked))

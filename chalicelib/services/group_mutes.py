"""Owners and admins silence a member for a while, or the whole group; a notice tells the members."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import clock
from chalicelib.db import groups as groups_db
from chalicelib.db import mutes, users
from chalicelib.db.groups import ADMIN, MEMBER, OWNER
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.services import groups

MUTED = "mute"  # the notices' `notice` kind
MAX_SILENCE_SECONDS = 30 * 86400
CHANGED = "the group's members or roles changed meanwhile; please retry"


def _duration(seconds: int) -> str:
    """A silence's length as the notice says it, rounded up to its largest unit."""
    for unit, size in (("天", 86400), ("小时", 3600), ("分钟", 60)):
        if seconds >= size:
            return f"{-(-seconds // size)} {unit}"
    return f"{seconds} 秒"


def _moderator(me: int, group_id: int) -> tuple[groups_db.GroupRecord, str]:
    """The group and my role in it, when I am its owner or an admin."""
    group = groups_db.get_group(group_id)
    if group is None:
        raise InvalidInput("群聊不存在！ (group does not exist)")
    member = groups_db.membership(group_id, me)
    if member is None:
        raise Forbidden(groups.NOT_A_MEMBER)
    if member.role not in (OWNER, ADMIN):
        raise Forbidden("only the owner or an admin can silence members")
    return group, member.role


def _names(*user_ids: int) -> list[str]:
    found = users.get_users(user_ids)
    return [found[uid].name if uid in found else str(uid) for uid in user_ids]


@contextmanager
def _spent(me: int, group: groups_db.GroupRecord, notice: str) -> Iterator[None]:
    """The action's notice goes to every member, so it takes the members as recipients from the actor's `messages`
    quota, before its write; a write whose conditions refuse it (the roles changed meanwhile) gives them back."""
    units = limits.message_units(group.member_count, notice)
    limits.spend("messages", me, units, "too many moderation actions")
    try:
        yield
    except mutes.NotAllowed as changed:
        limits.give_back("messages", me, units)
        raise InvalidInput(CHANGED) from changed


def silence(me: int, group_id: int, *, user_id: int, seconds: int) -> dict[str, Any]:
    """Silences a member for `seconds` (0 lifts it): never the owner, and an admin never another admin."""
    if seconds > MAX_SILENCE_SECONDS:
        raise InvalidInput(f"seconds must be at most {MAX_SILENCE_SECONDS} (30 days)")
    group, role = _moderator(me, group_id)
    if user_id == me:
        raise InvalidInput("you cannot silence yourself")
    target = groups_db.membership(group_id, user_id)
    if target is None:
        raise InvalidInput("this user is not a member of the group")
    if target.role == OWNER:
        raise Forbidden("the owner cannot be silenced")
    admin_only = role == ADMIN
    if admin_only and target.role == ADMIN:
        raise Forbidden("an admin cannot silence another admin")
    actor, member = _names(me, user_id)
    text = f"{member} 被 {actor} 禁言 {_duration(seconds)}" if seconds else f"{actor} 解除了 {member} 的禁言"
    until = int(clock.now()) + seconds if seconds else 0
    with _spent(me, group, text):
        mutes.silence(group_id, me, user_id, until, (MEMBER,) if admin_only else (ADMIN, MEMBER))
    groups.post_notice(group_id, me, MUTED, text)
    return {"group_id": group_id, "user_id": user_id, "silenced_until": until}


def silence_all(me: int, group_id: int, *, on: bool) -> dict[str, Any]:
    """While the whole group is silenced only the owner and admins may speak."""
    group, _ = _moderator(me, group_id)
    text = f"{_names(me)[0]} {'开启' if on else '关闭'}了全员禁言"
    with _spent(me, group, text):
        mutes.mute_everyone(group_id, me, on)
    groups.post_notice(group_id, me, MUTED, text)
    return {"group_id": group_id, "all": 1 if on else 0}

"""Blocking users: a user I block cannot send me private messages or friend requests and does not find me in
`userQuery`. Blocking does not unfriend and tells the blocked user nothing; in shared groups their messages still
arrive (README *Behaviour*)."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.db import blocks, users
from chalicelib.errors import InvalidInput
from chalicelib.security import limits
from chalicelib.services.bot import BOT_ID

REFUSAL = "too many friend requests and blocks"


def _target(me: int, user_id: int) -> None:
    if user_id == me:
        raise InvalidInput("you cannot block yourself")
    if user_id == BOT_ID:
        raise InvalidInput("the bot cannot be blocked")


def block(me: int, user_id: int) -> dict[str, Any]:
    """Blocking someone already blocked is a success that changes nothing. Takes a unit of `friend_requests`."""
    _target(me, user_id)
    target = users.get_user(user_id)
    if target is None:
        raise InvalidInput("user does not exist")
    limits.spend("friend_requests", me, 1, REFUSAL)
    now = clock.now()
    blocks.block(me, user_id, now)
    return {"id": target.id, "name": target.name, "avatar": target.avatar, "blocked": 1}


def unblock(me: int, user_id: int) -> dict[str, Any]:
    """Takes no quota: each unblock undoes a block that took its unit, and a refused one writes nothing."""
    _target(me, user_id)
    if not blocks.unblock(me, user_id):
        raise InvalidInput("you have not blocked this user")
    return {"id": user_id, "blocked": 0}


def blocked(me: int) -> list[dict[str, Any]]:
    """Newest first: one Query, one BatchGetItem of profiles per 100."""
    found = blocks.blocked_by_me(me)
    profiles = users.get_users(record.blocked_id for record in found)
    return [{"id": record.blocked_id, "name": profile.name, "avatar": profile.avatar,
             "created_at": wire_time(record.created_at)}
            for record, profile in ((record, profiles.get(record.blocked_id)) for record in found) if profile]

"""Typing notices: a socket's `{"msg_code": 1010, "to_id", "channel_type"}` relayed live to the friend or the other
members, never to the sender, never kept for offline users, never stored. Friends and members only; groups up to
100 members (larger ones are ignored); at most one relay per (user, conversation) per 3 s (a one-unit token bucket
refilled every 3 s, one conditional write); the relays' recipients take the sender's `typing` quota."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.config import TYPING_MAX_RECIPIENTS
from chalicelib.db import buckets, groups, keys
from chalicelib.db.models import Friendship, Group, GroupMember, Item, UserProfile
from chalicelib.db.sessions import GROUP, PRIVATE
from chalicelib.db.users import profile_record
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.realtime.push import push_live
from chalicelib.security import limits
from chalicelib.services.bot import BOT_ID
from chalicelib.ws import frames

RELAY_SECONDS = 3
RELAY_BUCKET = buckets.Bucket(1, 86400 // RELAY_SECONDS)  # one unit, back every 3 s
MAX_GROUP_MEMBERS = TYPING_MAX_RECIPIENTS + 1


def _field(frame: dict[str, Any], name: str, allowed: tuple[int, ...] | None = None) -> int:
    value = frame.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value >= 2**53:
        raise InvalidInput(f"typing frame: {name} must be a positive integer")
    if allowed is not None and value not in allowed:
        raise InvalidInput(f"typing frame: {name} must be one of {', '.join(map(str, allowed))}")
    return value


def relay(me: int, frame: dict[str, Any]) -> int:
    """Relays a typing frame from a connection of `me`; returns how many sockets took it (0 when paced, ignored or
    nobody is online). InvalidInput / Forbidden / RateLimited for a frame that gets the error frame."""
    to_id, channel_type = _field(frame, "to_id"), _field(frame, "channel_type", (PRIVATE, GROUP))
    if channel_type == PRIVATE and to_id in (me, BOT_ID):
        return 0  # nobody there to see it
    relation = ((keys.user_pk(me), keys.friend_sk(to_id)) if channel_type == PRIVATE
                else (keys.group_pk(to_id), keys.member_sk(me)))
    wanted = [(keys.user_pk(me), keys.PROFILE), relation]
    if channel_type == GROUP:
        wanted.append((keys.group_pk(to_id), keys.GROUP_META_SK))
    found = {(item.PK, item.SK): item for item in Item.batch_get(wanted)}
    profile = found.get((keys.user_pk(me), keys.PROFILE))
    if not isinstance(found.get(relation), (Friendship, GroupMember)) or not isinstance(profile, UserProfile):
        raise Forbidden("typing frame: you can only type to a friend or in a group you are a member of")
    group = found.get((keys.group_pk(to_id), keys.GROUP_META_SK))
    if isinstance(group, Group) and int(group.member_count) > MAX_GROUP_MEMBERS:
        return 0  # large groups get no typing notices
    conversation = (keys.private_conversation(me, to_id) if channel_type == PRIVATE
                    else keys.group_conversation(to_id))
    try:
        buckets.spend("typing-relay", f"{me}|{conversation}", RELAY_BUCKET, 1, clock.now())
    except buckets.BucketEmpty:
        return 0  # relayed less than 3 s ago: the peers still show it
    recipients = [to_id] if channel_type == PRIVATE else \
        [member.user_id for member in groups.members(to_id) if member.user_id != me]
    if not recipients:
        return 0
    limits.spend("typing", me, len(recipients), "too many typing notices")
    sender = profile_record(profile)
    return push_live(recipients, frames.typing(me, to_id, channel_type, {"id": sender.id, "name": sender.name}))

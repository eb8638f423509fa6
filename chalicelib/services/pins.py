"""Pinned messages: either side of a private conversation, the owner and admins of a group; at most 50 per
conversation. Pinning posts a notice (msg_type 6, `notice` "pin") so the unchanged web client shows it; unpinning is
silent. A recalled message can be unpinned, not pinned."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.db import groups, keys, messages, pins
from chalicelib.db.groups import ADMIN, OWNER
from chalicelib.db.messages import NOTICE_MSG_TYPE, MessageRecord
from chalicelib.db.models import UserProfile
from chalicelib.db.sessions import GROUP
from chalicelib.db.users import profile_record
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.services import conversation
from chalicelib.services.after_commit import after_commit
from chalicelib.services.conversation import BLOCKED_BY_PEER
from chalicelib.services.groups import NOT_A_MEMBER
from chalicelib.services.message_targets import locate, refuse_if_blocked
from chalicelib.services.shapes import edit_fields

MAX_PINS = 50
PIN_NOTICE = "pin"


def pin(me: int, *, to_id: int, channel_type: int, seq: int, on: int) -> dict[str, Any]:
    """Pinning a pinned message changes nothing (no second notice). A pin takes `messages` units as its notice to
    the conversation; an unpin takes none (it undoes a pin that took them)."""
    profile_key = (keys.user_pk(me), keys.PROFILE)
    located = locate(me, to_id, channel_type, seq, also=[profile_key])
    member = located.target.member
    if channel_type == GROUP and (member is None or member.role not in (OWNER, ADMIN)):
        raise Forbidden("only the owner or an admin can pin messages in a group")
    answer = {"id": seq, "to_id": to_id, "channel_type": channel_type, "pinned": on}
    if not on:
        if not pins.unpin(located.conversation, seq):
            raise InvalidInput("this message is not pinned")
        return answer
    message = located.message
    if message.recalled_at:
        raise InvalidInput("a recalled message cannot be pinned")
    if message.msg_type == NOTICE_MSG_TYPE:
        raise InvalidInput("notices cannot be pinned")
    refuse_if_blocked(located)
    profile = located.target.also.get(profile_key)
    name = profile_record(profile).name if isinstance(profile, UserProfile) else str(me)
    notice = f"{name} 置顶了一条消息"
    limits.spend("messages", me, limits.message_units(located.recipients, notice), "too many message actions")
    try:
        created = pins.pin(located.conversation, seq, me, clock.now(), MAX_PINS, located.refused_by)
    except pins.Blocked as blocked:  # blocked since it was read
        raise Forbidden(BLOCKED_BY_PEER) from blocked
    except pins.PinsFull as full:
        raise InvalidInput(f"at most {MAX_PINS} messages can be pinned in a conversation") from full
    except pins.Recalled as recalled:
        raise InvalidInput("a recalled message cannot be pinned") from recalled
    if created:  # posted once the pin committed, like every notice; the pin stands whatever happens to it
        after_commit("pin notice", lambda: conversation.post(
            conversation=located.conversation, sender_id=me, to_id=to_id, channel_type=channel_type,
            msg_type=NOTICE_MSG_TYPE, content=notice, data=None, msg_client_id=messages.new_msg_id(clock.now_ms()),
            relation=None, refusal=NOT_A_MEMBER, data_from_sender=True, notice=PIN_NOTICE))
    return answer


def pinned(me: int, *, to_id: int, channel_type: int) -> list[dict[str, Any]]:
    """Newest pin first, each with its message as history shows it; in a group, members only, and only messages
    from their join on."""
    after = 0
    if channel_type == GROUP:
        member = groups.membership(to_id, me)
        if member is None:
            raise Forbidden(NOT_A_MEMBER)
        after, key = member.joined_seq, keys.group_conversation(to_id)
    else:
        key = keys.private_conversation(me, to_id)
    return [{"id": pin.seq, "pinned_by": pin.pinned_by, "pinned_at": wire_time(pin.pinned_at),
             "message": _message_item(message)}
            for pin, message in pins.pinned(key) if message.seq > after]


def _message_item(message: MessageRecord) -> dict[str, Any]:
    return {"id": message.seq, "msg_id": message.msg_id, "form_id": message.form_id, "to_id": message.to_id,
            "channel_type": message.channel_type, "msg_type": conversation.shown_type(message),
            "msg": message.content, "data": message.data, "created_at": wire_time(message.send_time),
            "recalled": 1 if message.recalled_at else 0, "recalled_msg_type": conversation.recalled_type(message),
            **edit_fields(message), "Users": conversation.sender_brief(message)}

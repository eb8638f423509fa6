"""Private messages: send (idempotent, persisted before pushed), history, recall, video signalling."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.config import get_settings
from chalicelib.db import contacts, friends, keys, reactions, users
from chalicelib.db.contacts import Contacts
from chalicelib.db.messages import MessageRecord
from chalicelib.db.sessions import GROUP, PRIVATE
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.realtime.push import push_live
from chalicelib.security import limits
from chalicelib.services import bot, conversation, groups, receipts, references
from chalicelib.services.after_commit import after_commit
from chalicelib.services.bot import BOT_ID
from chalicelib.services.shapes import edit_fields, reaction_list, user_brief
from chalicelib.ws import frames

NOT_FRIENDS = "非好友关系,不能聊天... (you are not friends, so you cannot chat)"
CLIENT_MSG_TYPES = (1, 2, 3, 4)
VIDEO_SIGNALS = ("invite", "accept", "reject", "cancel", "hangup")


def _private_relation(me: int, peer: int) -> tuple[str, str] | None:
    return None if peer == BOT_ID else (keys.user_pk(me), keys.friend_sk(peer))


def send(me: int, *, to_id: int, channel_type: int, msg_type: int, message: str, data: str | None,
         msg_client_id: int, reply_to: int | None = None, at_ids: list[int] | None = None,
         at_all: int = 0) -> dict[str, Any]:
    """`reply_to` (any conversation) and `at_ids`/`at_all` (groups only) are checked by services/references.py."""
    if len(message) > get_settings().message_max_chars:
        raise InvalidInput(f"message must be at most {get_settings().message_max_chars} characters")
    if channel_type == GROUP:
        return groups.send(me, group_id=to_id, msg_type=msg_type, message=message, msg_client_id=msg_client_id,
                           reply_to=reply_to, at_ids=at_ids, at_all=at_all)
    if to_id == me:
        raise InvalidInput("you cannot send a message to yourself")
    key = keys.private_conversation(me, to_id)
    posted = conversation.post(
        conversation=key, sender_id=me, to_id=to_id, channel_type=PRIVATE,
        msg_type=msg_type, content=message, data=data, msg_client_id=msg_client_id,
        relation=_private_relation(me, to_id), refusal=NOT_FRIENDS, counted=True,
        extras=lambda: references.resolve(me, conversation=key, group_id=None, reply_to=reply_to, at_ids=at_ids,
                                          at_all=at_all, not_a_member=NOT_FRIENDS))
    shaped = conversation.message_shape(posted.message)
    # the delivery function pushes it to the recipient from the table's stream; a session the recipient had
    # removed shows again because the conversation's head moved past it (SessionRecord.listed)
    if posted.created and to_id == BOT_ID:
        after_commit("bot reply", lambda: bot.reply(me, message))
    return shaped


def _history_item(message: MessageRecord, viewer: Contacts, extras: dict[str, Any], is_read: int) -> dict[str, Any]:
    return {"id": message.seq, "msg": message.content, "created_at": wire_time(message.send_time),
            "form_id": message.form_id, "to_id": message.to_id, "is_read": is_read,
            "msg_type": conversation.shown_type(message), "status": 1, "data": message.data, "msg_id": message.msg_id,
            "channel_type": message.channel_type, "recalled": 1 if message.recalled_at else 0,
            "recalled_msg_type": conversation.recalled_type(message), **edit_fields(message),
            "Users": {"id": message.form_id, "name": message.sender_name, "email": viewer.email_of(message.form_id),
                      "avatar": message.sender_avatar}, **extras}


def history(me: int, *, to_id: int, page: int | None, page_size: int | None, raw_page: str) -> dict[str, Any]:
    """Only ever the caller's own conversation with `to_id`; `Users.email` is mine, and the peer's while we are
    friends (the web client's profile popup shows it)."""
    key = keys.private_conversation(me, to_id)
    viewer, head = contacts.read(me, [me, to_id], key, read_positions=to_id)
    found = conversation.history_page(key, me, PRIVATE, to_id, page, page_size, head)
    reacted = reactions.for_page(key, (item.seq for item in found.messages), me)
    shown = references.history_fields(found.messages)
    receipts_on = receipts.enabled(viewer.profiles.get(me), viewer.profiles.get(to_id))
    read_seqs = {**viewer.read_seqs, me: max(viewer.read_seqs.get(me, 0), found.read_to)}
    if found.read_others and receipts_on:
        receipts.push_read(me, to_id, found.read_to)
    return {"list": [{**_history_item(item, viewer, shown.get(item.seq, {}),
                                      receipts.is_read(item.to_id, item.seq, read_seqs, receipts_on)),
                      "reactions": reaction_list(reacted.get(item.seq))}
                     for item in found.messages],
            "mate": {"pageSize": found.size, "page": raw_page, "total": found.total}}


def recall(me: int, *, to_id: int, seq: int) -> dict[str, Any]:
    """The sender may recall within the window; recalling again is a no-op success."""
    conversation.recall(keys.private_conversation(me, to_id), seq, me, moderator=False)
    return {"id": seq, "recalled": 1}


def video(me: int, *, to_id: int, signal: str, data: str | None) -> dict[str, Any]:
    """Relays a call-setup signal (with opaque SDP/ICE `data`) to every connection of a friend.

    The one push made in a request: nothing is written, and the caller must learn whether the friend is online."""
    if to_id == me:
        raise InvalidInput("you cannot call yourself")
    if friends.get_friendship(me, to_id) is None:
        raise Forbidden(NOT_FRIENDS)
    limits.spend("messages", me, limits.message_units(1, data or ""), "too many call signals")
    caller = users.get_user(me)
    payload = {"form_id": me, "to_id": to_id, "message": "视频请求..." if signal == "invite" else signal,
               "send_time": wire_time(clock.now()), "users": user_brief(caller), "type": signal, "data": data or ""}
    if push_live([to_id], frames.video(payload)) == 0:
        raise InvalidInput("用户不在线 (the user is offline)")
    return payload

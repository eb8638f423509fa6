"""WebSocket frame codes (`msg_code`) and the frames the server builds, as the web client reads them."""
from __future__ import annotations

from typing import Any

CHAT = 200
ERROR = 500
VIDEO = 600
FRIEND_REQUEST = 1000
FRIEND_ACCEPTED = 1001
FRIEND_REJECTED = 1002
HEARTBEAT = 1004
ONLINE_STATUS_OFFLINE = 2000
ONLINE_STATUS_ONLINE = 2001
SESSION = 2003
LOGGED_OUT = 2004
TOO_MANY_CONNECTIONS = 2005
TOO_MANY_FRAMES = 2006


def error_frame(message: str) -> dict[str, Any]:
    return {"msg_code": ERROR, "message": message}

FRIEND_REMOVED = 1006
MESSAGE_RECALLED = 1007
MESSAGE_EDITED = 1008
MESSAGE_REACTION = 1009
TYPING = 1010
READ = 1011


def friend_event(code: int, record: dict[str, Any], users: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """§4.8: 1000 to the target (users = the requester), 1002 to the requester (users = the answerer)."""
    return {"msg_code": code, "id": record["id"], "form_id": record["form_id"], "to_id": record["to_id"],
            "status": record["status"], "created_at": record["created_at"], "information": record["information"],
            "users": users, **extra}


def friend_accepted(session: dict[str, Any], record_id: int, accepter: dict[str, Any]) -> dict[str, Any]:
    """1001 to the requester, oriented as the requester's own new session with the accepter (`id` is that
    session's id, `form_id` the requester, `to_id` the accepter): the web client adds it to its session list as
    it is. The friend request's id is `record_id`."""
    return {"msg_code": FRIEND_ACCEPTED, **session, "record_id": record_id, "users": accepter}


def friend_removed(by_user: dict[str, Any]) -> dict[str, Any]:
    return {"msg_code": FRIEND_REMOVED, "form_id": by_user["id"], "users": by_user}


CHAT_EXTRAS = ("reply_to", "reply", "at_ids", "at_all")


def chat(message: dict[str, Any], sender: dict[str, Any], recipient_id: int = 0) -> dict[str, Any]:
    """§4.5/§4.6 chat push, plus the history `id`, `send_time` and the sender's profile; group notices add
    their `notice` kind, replies `reply_to` and `reply`, mentions `at_ids` and `at_all` (services/references.py)."""
    notice = {"notice": message["notice"]} if "notice" in message else {}
    extras = {name: message[name] for name in CHAT_EXTRAS if name in message}
    return {**notice, "msg_id": message["msg_id"], "msg_client_id": message["msg_client_id"], "msg_code": CHAT,
            "form_id": message["form_id"], "to_id": message["to_id"], "msg_type": message["msg_type"],
            "channel_type": message["channel_type"], "message": message["message"], "data": message["data"],
            "send_time": message["send_time"], "id": message["id"], "user_id": recipient_id, "users": sender,
            **extras}


def recalled(message: dict[str, Any], recalled_by: int) -> dict[str, Any]:
    return {"msg_code": MESSAGE_RECALLED, "id": message["id"], "msg_id": message["msg_id"],
            "form_id": message["form_id"], "to_id": message["to_id"], "channel_type": message["channel_type"],
            "recalled_by": recalled_by}


def edited(message: dict[str, Any], edited_at: str) -> dict[str, Any]:
    """Both sides of a private conversation, or every member: the message's new text (the web client ignores it)."""
    return {"msg_code": MESSAGE_EDITED, "id": message["id"], "msg_id": message["msg_id"],
            "form_id": message["form_id"], "to_id": message["to_id"], "channel_type": message["channel_type"],
            "content": message["message"], "edited_at": edited_at}


def reaction(seq: int, to_id: int, channel_type: int, emoji: str, count: int, by: int, on: int,
             counts: list[dict[str, Any]]) -> dict[str, Any]:
    """A reaction changed (`form_id` reacted or took it back): `count` is the emoji's count now, `reactions` every
    emoji's, so the frame of a burst's newest change carries what the older ones' would have."""
    return {"msg_code": MESSAGE_REACTION, "id": seq, "to_id": to_id, "channel_type": channel_type, "emoji": emoji,
            "count": count, "form_id": by, "on": on, "reactions": counts}


def video(signal: dict[str, Any]) -> dict[str, Any]:
    return {"msg_code": VIDEO, **signal}


def logged_out(reason: str) -> dict[str, Any]:
    """The web client logs out on 2004; `pro`/`city`/`ip` are the fields it shows (we disclose none)."""
    return {"msg_code": LOGGED_OUT, "pro": "", "city": "", "ip": "", "message": reason}


def too_many_connections(limit: int) -> dict[str, Any]:
    """Sent to the oldest connection before it is closed to make room for a newer one (not 2004: the user stays
    logged in on that device and may reconnect)."""
    return {"msg_code": TOO_MANY_CONNECTIONS,
            "message": f"closed: this account has more than {limit} open connections and the newest ones stay open"}


def too_many_frames(wait: str) -> dict[str, Any]:
    """Sent to a connection that sent frames faster than its limit, before it is closed (the user stays logged in)."""
    return {"msg_code": TOO_MANY_FRAMES,
            "message": f"closed: this connection sent frames faster than allowed; reconnect in {wait}"}


def session_created(session: dict[str, Any]) -> dict[str, Any]:
    """§4.7: the recipient's own new group session, with `Groups`."""
    return {"msg_code": SESSION, "sessions": session}


def typing(form_id: int, to_id: int, channel_type: int, user: dict[str, Any]) -> dict[str, Any]:
    """1010: `form_id` is typing to `to_id` (the recipient, or the group); `users` is `{id, name}` of the typist."""
    return {"msg_code": TYPING, "form_id": form_id, "to_id": to_id, "channel_type": channel_type, "users": user}


def read(*, to_id: int, form_id: int, channel_type: int, read_seq: int) -> dict[str, Any]:
    """1011 to `to_id`: `form_id` has read our conversation up to `read_seq` (a history id)."""
    return {"msg_code": READ, "to_id": to_id, "form_id": form_id, "channel_type": channel_type, "read_seq": read_seq}

"""Wire shapes of the origin contract (§2.6, §2.10, §2.14, §2.29…), built from repository records."""
from __future__ import annotations

from typing import Any

from chalicelib.clock import wire_time
from chalicelib.db.conversations import ConversationHead
from chalicelib.db.friends import FriendRow, RequestRecord
from chalicelib.db.groups import GroupRecord
from chalicelib.db.messages import MessageRecord
from chalicelib.db.reactions import Summary
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.users import User


def user_object(user: User | None, *, show_email: bool) -> dict[str, Any]:
    """The capitalised `Users` object; zero-valued when the user is unknown (as the origin did)."""
    if user is None:
        return {"id": 0, "name": "", "email": "", "avatar": "", "status": 0, "bio": "", "sex": 0, "client_type": 0,
                "age": 0, "last_login_time": "", "uid": ""}
    return {"id": user.id, "name": user.name, "email": user.email if show_email else "", "avatar": user.avatar,
            "status": 0, "bio": user.bio, "sex": user.sex, "client_type": 0, "age": user.age,
            "last_login_time": wire_time(user.last_login_time), "uid": user.uid}


def user_brief(user: User | None) -> dict[str, Any]:
    """`{id, name, avatar}`: the sender profile carried by pushes and friend records."""
    if user is None:
        return {"id": 0, "name": "", "avatar": ""}
    return {"id": user.id, "name": user.name, "avatar": user.avatar}


def friend_row(row: FriendRow, friend: User | None, *, show_email: bool = True) -> dict[str, Any]:
    return {"id": row.id, "form_id": row.form_id, "to_id": row.to_id, "created_at": wire_time(row.created_at),
            "updated_at": wire_time(row.created_at), "note": row.note, "top_time": wire_time(row.top_time),
            "status": row.pinned, "uid": friend.uid if friend else "",
            "Users": user_object(friend, show_email=show_email)}


def request_row(record: RequestRecord, other: User | None) -> dict[str, Any]:
    return {"id": record.id, "form_id": record.form_id, "to_id": record.to_id, "status": record.status,
            "created_at": wire_time(record.created_at), "deleted_at": 0, "information": record.information,
            "users": user_brief(other)}


EMPTY_GROUP = {"id": 0, "user_id": 0, "name": "", "created_at": "", "info": "", "avatar": "", "is_pwd": 0, "hot": 0}


def group_object(group: GroupRecord) -> dict[str, Any]:
    """The capitalised `Groups` object of sessions (§2.6, §4.7)."""
    return {"id": group.id, "user_id": group.owner_id, "name": group.name, "created_at": wire_time(group.created_at),
            "info": group.info, "avatar": group.avatar, "is_pwd": group.is_pwd, "hot": group.hot}


def _unread(session: SessionRecord, head: ConversationHead | None) -> int:
    """Messages after my read position; none while the newest is my own (replying means having read). Messages
    of mine before someone else's newest one still count: a send does not write my read position."""
    if head is None or head.last_sender == session.owner_id:
        return 0
    return max(0, head.last_seq - session.read_seq)


def session_row(session: SessionRecord, peer: User | None, head: ConversationHead | None,
                group: dict[str, Any] | None = None, *, show_email: bool = False, at_me: int = 0,
                muted: int = 0) -> dict[str, Any]:
    """`Users.email` is the peer's only when the viewer may see it (a friend's, as in the friend list); `at_me`
    (services/references.py) says a message mentioning me is unread, `muted` that my `mute_until` is in force."""
    last_seq = head.last_seq if head else 0
    shown = head if head and last_seq > session.history_from else None  # nothing from before a member's join
    return {
        "id": session.id, "form_id": session.owner_id, "to_id": session.to_id, "group_id": session.group_id,
        "created_at": wire_time(session.created_at), "top_status": session.top_status,
        "top_time": wire_time(session.top_time or session.created_at), "note": session.note,
        "channel_type": session.channel_type, "name": peer.name if peer else (group or {}).get("name", session.name),
        "avatar": peer.avatar if peer else (group or {}).get("avatar", session.avatar), "status": session.status,
        "Users": user_object(peer, show_email=show_email), "Groups": group or dict(EMPTY_GROUP), "deleted_at": 0,
        "unread": _unread(session, head), "last_seq": last_seq, "read_seq": session.read_seq,
        "at_me": at_me, "mute_until": int(session.mute_until), "muted": muted,
        "last_message": {
            "content": shown.last_content if shown else "",
            "msg_type": shown.last_msg_type if shown else 0,
            "send_time": wire_time(shown.last_send_time) if shown else "",
            "recalled": 1 if shown and shown.last_recalled_msg_type else 0,
            "recalled_msg_type": shown.last_recalled_msg_type if shown else 0,
        },
    }


def edit_fields(message: MessageRecord) -> dict[str, Any]:
    """Private history: `edited` 1 once the text was edited, `edited_at` the last edit ("" when never)."""
    return {"edited": 1 if message.edit_count else 0,
            "edited_at": wire_time(message.edited_at) if message.edited_at else ""}


def reaction_list(summary: Summary | None) -> list[dict[str, Any]]:
    """History's `reactions` of a message: `[{emoji, count, me}]`, most used first."""
    if summary is None:
        return []
    return [{"emoji": emoji, "count": count, "me": 1 if emoji in summary.mine else 0}
            for emoji, count in sorted(summary.counts.items(), key=lambda pair: (-pair[1], pair[0]))]

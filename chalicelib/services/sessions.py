"""The caller's conversation list. Every route touches only the caller's own sessions."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.db import contacts, conversations, counters, groups, keys, sessions, users
from chalicelib.db import mutes as db_mutes
from chalicelib.db.mutes import FOREVER
from chalicelib.db.sessions import GROUP, PRIVATE, SessionRecord
from chalicelib.errors import InvalidInput
from chalicelib.services import mutes, receipts, references
from chalicelib.services.shapes import group_object, session_row

NOTE_MAX = 50


def list_sessions(me: int) -> list[dict[str, Any]] | dict[str, Any]:
    """Pinned first, then most recent activity; `{}` when empty, as the web client needs."""
    candidates = [session for session in sessions.list_for(me) if not session.hidden_until_revived]
    heads = conversations.heads(session.conversation for session in candidates)
    visible = [session for session in candidates
               if session.listed(heads[session.conversation].last_seq if session.conversation in heads else 0)]
    if not visible:
        return {}
    peers, _ = contacts.read(me, (session.to_id for session in visible if session.channel_type == PRIVATE))
    group_records = groups.get_groups(session.group_id for session in visible if session.channel_type == GROUP)
    visible = [session for session in visible if session.channel_type == PRIVATE or session.group_id in group_records]

    def activity(session: SessionRecord) -> tuple[int, float]:
        head = heads.get(session.conversation)
        return session.top_status, max(head.last_send_time if head else 0, session.created_at)

    visible.sort(key=activity, reverse=True)
    now = clock.now()
    return [session_row(session, peers.profiles.get(session.to_id), heads.get(session.conversation),
                        group_object(group_records[session.group_id]) if session.channel_type == GROUP else None,
                        show_email=session.channel_type == PRIVATE and peers.may_see_email(session.to_id),
                        at_me=references.at_me(session, group_records.get(session.group_id)
                                               if session.channel_type == GROUP else None),
                        muted=mutes.muted(session.mute_until, now))
            for session in visible] or {}


def open_session(me: int, peer_id: int, channel_type: int) -> dict[str, Any]:
    """My session with a user (or group): the existing one, revived if I had removed it, or a new one."""
    if channel_type == GROUP:
        raise InvalidInput("group sessions are created by joining the group")
    if peer_id == me:
        raise InvalidInput("you cannot open a session with yourself")
    conversation = keys.private_conversation(me, peer_id)
    found, head = contacts.read(me, [peer_id], conversation)
    peer = found.profiles.get(peer_id)
    if peer is None:
        raise InvalidInput("user does not exist")
    now = clock.now()
    candidate = SessionRecord(id=counters.next_value("id"), owner_id=me, to_id=peer_id, group_id=0,
                              channel_type=PRIVATE, conversation=conversation, created_at=now, name=peer.name,
                              avatar=peer.avatar, note=peer.name, top_time=now)
    session = sessions.create_or_revive(candidate)
    return session_row(session, peer, head, show_email=found.may_see_email(peer_id))


def update_session(me: int, session_id: int, *, top_status: int | None, note: str | None,
                   read_seq: int | None, mute_until: int | None = None) -> dict[str, Any]:
    """`mute_until` (unix seconds, 0 unmutes, -1 forever) mutes the conversation for me: frames still arrive,
    marked `muted: 1` (db/mutes.py). `read_seq` only moves my read position forward. The session's id index is read
    once, for every change and the receipt."""
    if top_status is None and note is None and read_seq is None and mute_until is None:
        raise InvalidInput("nothing to change: send top_status, note, read_seq or mute_until")
    if mute_until is not None and mute_until not in (0, FOREVER) and mute_until <= clock.now():
        raise InvalidInput("mute_until must be a time in the future (unix seconds), 0 to unmute or -1 for ever")
    channel_type, peer_id = _peer(me, session_id)
    if mute_until is not None and not db_mutes.mute_session(me, channel_type, peer_id, mute_until):
        raise InvalidInput("session not found")
    if (top_status, note) != (None, None) and not sessions.set_fields(
            me, channel_type, peer_id, top_status=top_status, top_time=clock.now() if top_status is not None else None,
            note=note):
        raise InvalidInput("session not found")
    # the index found it, so the session exists: a position that did not move was already reached (no receipt)
    if read_seq is not None and sessions.mark_read(me, channel_type, peer_id, read_seq) is not None \
            and channel_type == PRIVATE:
        _receipt(me, peer_id, read_seq)
    return {}


def _peer(me: int, session_id: int) -> tuple[int, int]:
    """Owner-scoped: someone else's session id is simply not found."""
    peer = sessions.peer_of(me, session_id)
    if peer is None:
        raise InvalidInput("session not found")
    return peer


def _receipt(me: int, peer_id: int, read_seq: int) -> None:
    """My read position in a private conversation moved forward: the peer may get a read receipt
    (services/receipts.py)."""
    profiles = users.get_users([me, peer_id])
    if receipts.enabled(profiles.get(me), profiles.get(peer_id)):
        receipts.push_read(me, peer_id, read_seq)


def delete_session(me: int, session_id: int) -> None:
    """Hidden up to the conversation's newest message: a later one shows it again (SessionRecord.listed)."""
    channel_type, peer_id = _peer(me, session_id)
    conversation = (keys.group_conversation(peer_id) if channel_type == GROUP
                    else keys.private_conversation(me, peer_id))
    head = conversations.head(conversation, consistent=True)
    if not sessions.remove(me, channel_type, peer_id, clock.now(), head.last_seq if head else 0):
        raise InvalidInput("session not found")

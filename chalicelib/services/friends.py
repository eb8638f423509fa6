"""Friends, friend requests, user search, presence and the address book."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.db import blocks, connections, counters, friends, keys, sessions, users
from chalicelib.db.friends import ACCEPTED, PENDING, REJECTED, Conflict, FriendRow, RequestRecord
from chalicelib.db.sessions import PRIVATE, SessionRecord
from chalicelib.db.users import User
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.services import groups
from chalicelib.services.bot import BOT_ID
from chalicelib.services.shapes import friend_row, request_row, user_brief
from chalicelib.ws import frames

SEARCH_LIMIT = 5
SEARCH_CANDIDATES = 25
ONLINE, OFFLINE = frames.ONLINE_STATUS_ONLINE, frames.ONLINE_STATUS_OFFLINE
BLOCKED_REQUEST = "对方已将你拉黑 (this user has blocked you), so you cannot send them friend requests"


def list_friends(me: int) -> list[dict[str, Any]]:
    rows = friends.list_friends(me)
    profiles = users.get_users(row.to_id for row in rows)
    rows.sort(key=lambda row: (row.pinned, row.top_time), reverse=True)
    return [friend_row(row, profiles.get(row.to_id)) for row in rows]


def friend_detail(me: int, other: int) -> dict[str, Any]:
    """The relation between me and `other`, plus that user's id/name/email/avatar at the top level.

    The bot is everyone's contact: the web client asks this for every incoming private message before drawing
    it, the bot's greetings and replies included, and drops the message on any other answer.
    """
    if other == BOT_ID:
        bot_user = users.get_user(BOT_ID)
        since = bot_user.created_at if bot_user else 0
        return _detail(FriendRow(0, me, BOT_ID, since, "", since, 0), bot_user, show_email=False)
    row = friends.get_friendship(me, other)
    if row is None:
        raise Forbidden("you are not friends with this user")
    return _detail(row, users.get_user(other), show_email=True)


def _detail(row: FriendRow, friend: User | None, *, show_email: bool) -> dict[str, Any]:
    shaped = friend_row(row, friend, show_email=show_email)
    shaped.update({"id": row.to_id, "name": friend.name if friend else "",
                   "email": friend.email if friend and show_email else "", "avatar": friend.avatar if friend else "",
                   "friend_id": row.id})
    return shaped


def remove_friend(me: int, other: int) -> None:
    if other == me:
        raise InvalidInput("this user is not your friend")
    notify = [(other, frames.friend_removed(user_brief(users.get_user(me))))]
    if not friends.remove_friendship(me, other, clock.now(), notify):
        raise InvalidInput("this user is not your friend")


def online_status(me: int, other: int) -> dict[str, Any]:
    if other != me and friends.get_friendship(me, other) is None:
        raise Forbidden("you can only see the status of your friends")
    live = connections.live_connections([other], clock.now())
    return {"status": ONLINE if live.get(other) else OFFLINE, "id": other}


def send_request(me: int, to_id: int, information: str) -> dict[str, Any]:
    if to_id == me:
        raise InvalidInput("you cannot send a friend request to yourself")
    spent = False
    for _ in range(3):
        target = users.get_user(to_id)
        if target is None:
            raise InvalidInput("user does not exist")
        relation = friends.relation(me, to_id)
        if relation.blocks_me:
            raise Forbidden(BLOCKED_REQUEST)
        if relation.friendship is not None:
            raise InvalidInput("you are already friends")
        if relation.my_pending is not None:
            raise InvalidInput("a request to this user is already waiting for an answer")
        if relation.their_pending is not None:
            return answer_request(me, relation.their_pending, ACCEPTED)
        if not spent:  # answering their request (above) is free: only asking someone counts
            limits.spend("friend_requests", me, 1, "too many friend requests")
            spent = True
        record_id, requester_session, target_session = counters.next_range("id", 3)
        record = RequestRecord(record_id, me, to_id, PENDING, information, clock.now(), requester_session,
                               target_session)
        sender = users.get_user(me)
        try:
            friends.create_request(record, [(to_id, frames.friend_event(
                frames.FRIEND_REQUEST, request_row(record, sender), user_brief(sender)))])
        except Conflict:
            continue
        return request_row(record, target)
    raise InvalidInput("the request conflicted with another change; please retry")


def list_requests(me: int) -> list[dict[str, Any]]:
    records = friends.list_requests(me)
    others = users.get_users(record.to_id if record.form_id == me else record.form_id for record in records)
    return [request_row(record, others.get(record.to_id if record.form_id == me else record.form_id))
            for record in records]


def _private_session(session_id: int, owner: int, peer: int, peer_name: str, peer_avatar: str, now: float
                     ) -> SessionRecord:
    return SessionRecord(id=session_id, owner_id=owner, to_id=peer, group_id=0, channel_type=PRIVATE,
                         conversation=keys.private_conversation(owner, peer), created_at=now, name=peer_name,
                         avatar=peer_avatar, note=peer_name, top_time=now)


def answer_request(me: int, record_id: int, status: int) -> dict[str, Any]:
    record = friends.get_request(me, record_id)
    if record is None:
        raise InvalidInput("friend request not found")
    if record.to_id != me:
        raise Forbidden("only the user who received the request can answer it")
    if record.status != PENDING:
        raise InvalidInput("this request has already been answered")
    profiles = users.get_users([me, record.form_id])
    answerer, requester = profiles.get(me), profiles.get(record.form_id)
    now = clock.now()
    answered = RequestRecord(record.id, record.form_id, record.to_id, status, record.information,
                             record.created_at, record.requester_session_id, record.target_session_id)
    if status == REJECTED:
        rejected = dict(request_row(answered, answerer), form_id=record.to_id, to_id=record.form_id)
        try:
            friends.reject(record, now, [(record.form_id, frames.friend_event(frames.FRIEND_REJECTED, rejected,
                                                                              user_brief(answerer)))])
        except Conflict as conflict:
            raise InvalidInput("this request has already been answered") from conflict
        return request_row(answered, requester)
    pairs = {me: (me, PRIVATE, record.form_id), record.form_id: (record.form_id, PRIVATE, me)}
    found = sessions.existing(pairs.values())
    reserved = {me: record.target_session_id, record.form_id: record.requester_session_id}
    new_sessions = [
        _private_session(reserved[owner], owner, peer, profile.name if profile else "",
                         profile.avatar if profile else "", now)
        for owner, peer, profile in ((me, record.form_id, requester), (record.form_id, me, answerer))
        if pairs[owner] not in found]
    revive = [session for session in found.values() if session.deleted_at]
    requester_session = found.get(pairs[record.form_id]) or next(
        session for session in new_sessions if session.owner_id == record.form_id)
    notify = [(record.form_id, frames.friend_accepted(_requester_session_entry(requester_session), record.id,
                                                      user_brief(answerer)))]
    try:
        friends.accept(record, now, new_sessions, revive, notify)
    except Conflict as conflict:
        raise InvalidInput("this request has already been answered") from conflict
    return friend_row(FriendRow(record.id, me, record.form_id, now, "", now, 0), requester)


def _requester_session_entry(session: SessionRecord) -> dict[str, Any]:
    """What the web client builds its session entry from on 1001: the requester's own private session."""
    return {"id": session.id, "form_id": session.owner_id, "to_id": session.to_id, "status": session.status,
            "created_at": wire_time(session.created_at), "note": session.note,
            "top_time": wire_time(session.top_time or session.created_at)}


def delete_request(me: int, record_id: int) -> None:
    record = friends.get_request(me, record_id)
    if record is None:
        raise InvalidInput("friend request not found")
    friends.delete_request(record)


def search_users(me: int, query: str) -> list[dict[str, Any]]:
    """Users I can add: exact email, or case-insensitive name prefix; never me, my friends or those who block me;
    at most 5."""
    query = query.strip()
    if not query:
        return []
    limits.spend("user_searches", me, 1, "too many user searches")
    if "@" in query:
        found = users.user_id_by_email(query.lower())
        candidates = [found] if found is not None else []
    else:
        candidates = users.user_ids_by_name_prefix(query, SEARCH_CANDIDATES)
    candidates = [user_id for user_id in dict.fromkeys(candidates) if user_id != me]
    excluded = blocks.hidden_from_search(me, candidates)
    chosen = [user_id for user_id in candidates if user_id not in excluded][:SEARCH_LIMIT]
    profiles = users.get_users(chosen)
    return [{"id": user.id, "name": user.name, "email": user.email if "@" in query else "", "avatar": user.avatar,
             "bio": user.bio, "sex": user.sex, "status": 0}
            for user in (profiles.get(user_id) for user_id in chosen) if user is not None]


def address_list(me: int) -> dict[str, Any]:
    return {"friends": list_friends(me), "groups": groups.list_groups(me)}

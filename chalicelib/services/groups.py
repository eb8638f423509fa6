"""Groups: create, join (open, password or share token), add/remove, leave, members, group chat."""
from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.config import get_settings
from chalicelib.db import (
    conflicts,
    conversations,
    counters,
    friends,
    groups,
    keys,
    messages,
    reactions,
    sessions,
    throttles,
    users,
)
from chalicelib.db.groups import ADMIN, MEMBER, OWNER, Conflict, GroupRecord, InviteRecord, NewMember
from chalicelib.db.messages import MessageRecord
from chalicelib.db.sessions import GROUP, SessionRecord
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.security.passwords import hash_password, verify_password
from chalicelib.services import conversation, references
from chalicelib.services.shapes import edit_fields, group_object, reaction_list, session_row, user_object
from chalicelib.ws import frames

NOT_A_MEMBER = "你不是此群成员了... (you are not a member of this group)"
NOTICE = 6  # the msg_type the web client draws as a centred system line
# A notice's `notice` kind, for clients that react to membership changes.
JOINED, LEFT, REMOVED, NEW_OWNER, DISSOLVED = "join", "leave", "removed", "owner", "dissolved"
DEFAULT_INVITE_SECONDS, MAX_INVITE_SECONDS = 7 * 86400, 30 * 86400


def group_shape(group: GroupRecord) -> dict[str, Any]:
    """§2.25/§2.28 row; the password hash never leaves the server."""
    return {**group_object(group), "password": "", "theme": group.theme, "member_count": group.member_count}


def _group_session(group: GroupRecord, owner: int, session_id: int, now: float) -> SessionRecord:
    return SessionRecord(id=session_id, owner_id=owner, to_id=0, group_id=group.id, channel_type=GROUP,
                         conversation=keys.group_conversation(group.id), created_at=now, name=group.name,
                         avatar=group.avatar, top_time=now)


def _require_group(group_id: int) -> GroupRecord:
    group = groups.get_group(group_id)
    if group is None:
        raise InvalidInput("群聊不存在！ (group does not exist)")
    return group


def _session_frames(group: GroupRecord, new_members: list[NewMember]) -> dict[int, dict[str, Any]]:
    """Each new member's 2003 frame with its own group session, delivered from the outbox of the write."""
    return {member.user_id: frames.session_created(session_row(member.session, None, None, group_object(group)))
            for member in new_members if member.session is not None}


def post_notice(group_id: int, author: int, kind: str, text: str) -> None:
    """Membership notices are group messages of type 6 with a whole sentence: persisted, sequenced, and delivered
    to the members like any group message.

    Posted only after the change they report has committed; `data` is the author's profile."""
    conversation.post(
        conversation=keys.group_conversation(group_id), sender_id=author, to_id=group_id, channel_type=GROUP,
        msg_type=NOTICE, content=text, data=None, msg_client_id=messages.new_msg_id(clock.now_ms()),
        relation=None, refusal=NOT_A_MEMBER, data_from_sender=True, notice=kind)


def _name(user_id: int) -> str:
    user = users.get_user(user_id)
    return user.name if user else str(user_id)


def create_group(me: int, *, name: str, info: str, avatar: str, theme: str, password: str | None, is_pwd: int,
                 select_user: list[int]) -> dict[str, Any]:
    invitees = [uid for uid in dict.fromkeys(select_user) if uid != me]
    if len(invitees) + 1 > get_settings().group_size_limit:
        raise InvalidInput(f"a group holds at most {get_settings().group_size_limit} members")
    not_friends = set(invitees) - friends.friend_ids_among(me, invitees)
    if not_friends:
        raise InvalidInput(f"you can only invite your friends: {sorted(not_friends)}")
    if is_pwd and not password:
        raise InvalidInput("password is required when is_pwd is 1")
    # each member costs about three recipients of a message: its membership, its session and its frame
    limits.spend("messages", me, limits.message_units(3 * (len(invitees) + 1)), "too many new groups")
    now = clock.now()
    group_id = counters.next_value("group")
    group = GroupRecord(group_id, me, name, info, avatar, theme, 1 if is_pwd else 0,
                        hash_password(password) if is_pwd and password else None, 0, now, len(invitees) + 1)
    session_ids = counters.next_range("id", len(invitees) + 1)
    new_members = [NewMember(uid, OWNER if uid == me else MEMBER, _group_session(group, uid, sid, now))
                   for uid, sid in zip([me, *invitees], session_ids, strict=True)]
    groups.create(group, new_members, now, _session_frames(group, new_members))
    return group_shape(group)


def _resolve_group_id(me: int, group_or_session_id: int) -> int:
    """The web client sends a group id or its own session id for the group; accept either."""
    if groups.membership(group_or_session_id, me) is not None:
        return group_or_session_id
    peer = sessions.peer_of(me, group_or_session_id)
    if peer is not None and peer[0] == GROUP:
        return peer[1]
    return group_or_session_id


def _require_member(group_id: int, me: int) -> groups.MemberRecord:
    member = groups.membership(group_id, me)
    if member is None:
        raise Forbidden(NOT_A_MEMBER)
    return member


def _joining_seq(group_id: int) -> int:
    """The group's last sequence now: a member joining sees what comes after it."""
    head = conversations.head(keys.group_conversation(group_id), consistent=True)
    return head.last_seq if head else 0


def _joining(member_id: int, session: SessionRecord, seq: int) -> NewMember:
    return NewMember(member_id, MEMBER, replace(session, read_seq=seq, history_from=seq), seq)


@conflicts.retrying()
def _join(me: int, group: GroupRecord, invite: str | None) -> None:
    """The join commits only while the group is at the sequence read here, so the newcomer's history starts
    exactly at its join; a message sent meanwhile makes it read again."""
    now = clock.now()
    existing = sessions.existing([(me, GROUP, group.id)], consistent=True)
    current = existing.get((me, GROUP, group.id))
    session = current or _group_session(group, me, counters.next_value("id"), now)
    joined_seq = _joining_seq(group.id)
    member = _joining(me, session, joined_seq)
    try:
        groups.add_members(group.id, [member], {me} if current else set(), now, get_settings().group_size_limit,
                           _session_frames(group, [member]), invite=invite, held_seq=joined_seq)
    except Conflict as conflict:
        if groups.membership(group.id, me) is not None:
            raise InvalidInput("已经是群成员了~ (you are already a member)") from conflict
        if invite is not None:
            raise InvalidInput("this invite has expired, was revoked or has no uses left") from conflict
        raise InvalidInput("the group is full") from conflict
    how = "通过邀请链接加入了群聊" if invite is not None else "加入了群聊"
    post_notice(group.id, me, JOINED, f"{_name(me)} {how}")


def _check_group_password(me: int, group: GroupRecord, password: str | None) -> None:
    """Each guess is counted before its bcrypt check (per group and across groups), so guessing is capped
    however fast or parallel; a right password gives its counts back."""
    settings = get_settings()
    window = settings.group_password_window_seconds
    per_group = limits.take("group-password", f"{me}|{group.id}", settings.group_password_failures, window,
                            "too many wrong passwords for this group")
    with limits.given_back_if_refused(per_group):
        per_user = limits.take("group-password-user", str(me), settings.group_password_failures_per_user, window,
                               "too many wrong group passwords")
    if not password or not verify_password(password, group.password_hash):
        raise InvalidInput("入群密码错误~,请联系管理员邀请 (wrong group password)")
    throttles.give_back(per_group)
    throttles.give_back(per_user)


def apply_join(me: int, group_id: int, *, token: str | None, password: str | None) -> dict[str, Any]:
    group = _require_group(group_id)
    if groups.membership(group.id, me) is not None:
        raise InvalidInput("已经是群成员了~ (you are already a member)")
    if token:
        invite = groups.get_invite(token)
        if invite is None or invite.group_id != group.id:
            raise InvalidInput("this invite is not valid for this group")
        _join(me, group, token)
    elif group.is_pwd:
        _check_group_password(me, group, password)
        _join(me, group, None)
    else:
        _join(me, group, None)
    return {}


def create_or_remove(me: int, *, group_id: int, action: int, select_user: list[int]) -> dict[str, Any]:
    group = _require_group(group_id)
    caller = _require_member(group.id, me)
    if caller.role not in (OWNER, ADMIN):
        raise Forbidden("only the owner or an admin can add or remove members")
    targets = [uid for uid in dict.fromkeys(select_user) if uid != me]
    current = groups.existing_members(group.id, targets)
    if action == 1:
        addable = [uid for uid in targets if uid not in current]
        not_friends = set(addable) - friends.friend_ids_among(me, addable)
        if not_friends:
            raise InvalidInput(f"you can only add your friends: {sorted(not_friends)}")
        if not addable:
            return {}
        now = clock.now()
        existing_sessions = sessions.existing([(uid, GROUP, group.id) for uid in addable], consistent=True)
        fresh_ids = iter(counters.next_range("id", len(addable)))
        seq = _joining_seq(group.id)
        new_members = [_joining(uid, existing_sessions.get((uid, GROUP, group.id))
                                or _group_session(group, uid, next(fresh_ids), now), seq) for uid in addable]
        revive = {uid for uid in addable if (uid, GROUP, group.id) in existing_sessions}
        try:
            groups.add_members(group.id, new_members, revive, now, get_settings().group_size_limit,
                               _session_frames(group, new_members))
        except Conflict as conflict:
            raise InvalidInput("the group is full or changed meanwhile; please retry") from conflict
        _member_notices(group.id, me, addable, JOINED, "{actor} 邀请 {member} 加入了群聊")
        return {}
    removed = _remove(me, group.id, targets)
    _member_notices(group.id, me, removed, REMOVED, "{member} 被 {actor} 移出了群聊")
    return {}


@conflicts.retrying()
def _remove(me: int, group_id: int, targets: list[int]) -> list[int]:
    """Decide on fresh reads and remove under conditions that hold the decision; a lost race decides again."""
    caller = _require_member(group_id, me)
    if caller.role not in (OWNER, ADMIN):
        raise Forbidden("only the owner or an admin can add or remove members")
    members_by_id = {member.user_id: member for member in groups.members(group_id) if member.user_id in targets}
    removable = [uid for uid in targets if uid in members_by_id]
    if any(members_by_id[uid].role == OWNER for uid in removable):
        raise InvalidInput("the owner cannot be removed")
    if caller.role == ADMIN and any(members_by_id[uid].role == ADMIN for uid in removable):
        raise Forbidden("an admin cannot remove another admin")
    if removable:
        groups.remove_members(group_id, me, removable, (MEMBER,) if caller.role == ADMIN else (ADMIN, MEMBER),
                              clock.now())
    return removable


def _member_notices(group_id: int, actor: int, members: list[int], kind: str, sentence: str) -> None:
    names = users.get_users([actor, *members])

    def name(user_id: int) -> str:
        return names[user_id].name if user_id in names else str(user_id)

    for user_id in members:
        post_notice(group_id, actor, kind, sentence.format(actor=name(actor), member=name(user_id)))


def list_groups(me: int) -> list[dict[str, Any]]:
    found = groups.get_groups(groups.group_ids_of(me))
    return [group_shape(group) for group in sorted(found.values(), key=lambda g: (-g.hot, g.id))]


def group_users(me: int, group_or_session_id: int) -> dict[str, Any]:
    group_id = _resolve_group_id(me, group_or_session_id)
    group = _require_group(group_id)
    _require_member(group.id, me)
    member_list = sorted(groups.members(group.id), key=lambda m: m.joined_at)
    profiles = users.get_users(member.user_id for member in member_list)
    return {
        "groups": {"id": group.id, "user_id": group.owner_id, "name": group.name,
                   "created_at": wire_time(group.created_at), "info": group.info, "avatar": group.avatar},
        "group_users": [{"id": member.user_id, "user_id": member.user_id, "created_at": wire_time(member.joined_at),
                         "group_id": group.id, "remark": "", "avatar": group.avatar, "name": group.name,
                         "role": member.role,
                         "users": user_object(profiles.get(member.user_id), show_email=False)}
                        for member in member_list],
    }


def leave(me: int, group_or_session_id: int) -> dict[str, Any]:
    """The notice is posted only after the departure has committed (and not at all when the group dissolved)."""
    group_id = _resolve_group_id(me, group_or_session_id)
    group = _require_group(group_id)
    departure = groups.leave(group.id, me, clock.now())
    if departure is None:
        raise Forbidden(NOT_A_MEMBER)
    if departure.dissolved:
        post_notice(group.id, me, DISSOLVED, f"{_name(me)} 退出了群聊，群聊已解散")
        return {}
    post_notice(group.id, me, LEFT, f"{_name(me)} 退出了群聊")
    if departure.new_owner is not None:
        post_notice(group.id, me, NEW_OWNER, f"{_name(departure.new_owner)} 成为了新群主")
    return {}


def create_invite(me: int, group_id: int, *, expire_seconds: int | None, max_uses: int | None) -> dict[str, Any]:
    group = _require_group(group_id)
    if _require_member(group.id, me).role not in (OWNER, ADMIN):
        raise Forbidden("only the owner or an admin can create invites")
    seconds = expire_seconds or DEFAULT_INVITE_SECONDS
    if seconds > MAX_INVITE_SECONDS:
        raise InvalidInput(f"expire_seconds must be at most {MAX_INVITE_SECONDS}")
    limits.spend("creations", me, 1, "too many invites and groups created")
    invite = InviteRecord(secrets.token_urlsafe(18), group.id, me, max_uses or 0, 0, int(clock.now()) + seconds, 0)
    groups.create_invite(invite)
    return {"token": invite.token, "group_id": group.id, "expire_time": invite.expire_time,
            "max_uses": invite.max_uses}


def revoke_invite(me: int, token: str) -> dict[str, Any]:
    """The group's owner or an admin ends a share token; joining with it fails from then on."""
    invite = groups.get_invite(token)
    if invite is None:
        raise InvalidInput("this invite does not exist")
    if _require_member(invite.group_id, me).role not in (OWNER, ADMIN):
        raise Forbidden("only the owner or an admin can revoke invites")
    groups.revoke_invite(token)
    return {"token": token, "group_id": invite.group_id, "revoked": 1}


def send(me: int, *, group_id: int, msg_type: int, message: str, msg_client_id: int, reply_to: int | None = None,
         at_ids: list[int] | None = None, at_all: int = 0) -> dict[str, Any]:
    """Members only; `data` is the server's copy of the sender profile, never the client's."""
    key = keys.group_conversation(group_id)
    posted = conversation.post(
        conversation=key, sender_id=me, to_id=group_id, channel_type=GROUP,
        msg_type=msg_type, content=message, data=None, msg_client_id=msg_client_id,
        relation=(keys.group_pk(group_id), keys.member_sk(me)), refusal=NOT_A_MEMBER, data_from_sender=True,
        counted=True,
        extras=lambda: references.resolve(me, conversation=key, group_id=group_id, reply_to=reply_to,
                                          at_ids=at_ids, at_all=at_all, not_a_member=NOT_A_MEMBER))
    # after the message committed, and again on every retry of its client id (the marks only move forward): a
    # failure here answers an error, and the client's retry finds the stored message and writes them then
    references.remember_mentions(posted.message)
    return conversation.message_shape(posted.message)


def _history_item(message: MessageRecord, extras: dict[str, Any]) -> dict[str, Any]:
    """§2.20: Go field names; the extras (reply, mentions) keep their send-time names."""
    return {"Id": message.seq, "Message": message.content, "CreatedAt": wire_time(message.send_time),
            "Data": message.data, "SendTime": int(message.send_time), "MsgType": conversation.shown_type(message),
            "RecalledMsgType": conversation.recalled_type(message),
            "MessageId": message.msg_id, "ClientMessageId": message.msg_client_id, "FormId": message.form_id,
            "GroupId": message.to_id, "Recalled": 1 if message.recalled_at else 0, "Notice": message.notice,
            **edit_fields(message),
            "Users": {"id": message.form_id, "name": message.sender_name, "email": "",
                      "avatar": message.sender_avatar}, **extras}


def history(me: int, *, group_id: int, page: int | None, page_size: int | None, raw_page: str) -> dict[str, Any]:
    member = _require_member(group_id, me)
    key = keys.group_conversation(group_id)
    found = conversation.history_page(key, me, GROUP, group_id, page, page_size, conversations.head(key),
                                      after_seq=member.joined_seq)
    reacted = reactions.for_page(key, (item.seq for item in found.messages), me)
    shown = references.history_fields(found.messages)
    return {"list": [{**_history_item(item, shown.get(item.seq, {})), "reactions": reaction_list(reacted.get(item.seq))}
                     for item in found.messages],
            "mate": {"pageSize": found.size, "page": raw_page, "total": found.total}}


def recall(me: int, *, group_id: int, seq: int) -> dict[str, Any]:
    """The sender within the window, or the owner/an admin at any time."""
    member = _require_member(group_id, me)
    conversation.recall(keys.group_conversation(group_id), seq, me, moderator=member.role in (OWNER, ADMIN),
                        group_id=group_id)
    return {"id": seq, "recalled": 1}

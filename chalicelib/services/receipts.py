"""Read receipts. Private: when my read position advances, the peer's live sockets get `msg_code 1011` (at most one
per conversation and reader per second), and history's `is_read` says whether a message's recipient has read it. Groups:
counted on request (`GET /groups/{id}/reads`), never pushed. `read_receipts=0` (PUT /user) turns both off for that
user, both ways."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.db import buckets, keys, receipts
from chalicelib.db import groups as groups_db
from chalicelib.db.sessions import PRIVATE
from chalicelib.db.users import User
from chalicelib.errors import Forbidden, InvalidInput, RateLimited
from chalicelib.realtime.push import push_live
from chalicelib.security import limits
from chalicelib.services.after_commit import after_commit
from chalicelib.services.groups import NOT_A_MEMBER
from chalicelib.ws import frames

PUSH_BUCKET = buckets.Bucket(1, 86400)  # one unit, back every second
LISTED_MEMBERS = 100  # a group's reads list the members' ids up to this size


def enabled(*users: User | None) -> bool:
    return all(user is not None and user.read_receipts for user in users)


def set_setting(me: int, *, read_receipts: int) -> dict[str, Any]:
    receipts.set_read_receipts(me, read_receipts == 1)
    return {"read_receipts": read_receipts}


def push_read(me: int, peer: int, read_seq: int) -> None:
    """After my read position in our private conversation advanced to `read_seq` (both of us have receipts on):
    the peer's live sockets get 1011, unless one went out from me in this conversation less than a second ago (a
    one-unit bucket per reader and conversation, one conditional write) or my `read_receipts` quota is spent. Never
    kept for offline users: their history says it."""
    def push() -> None:
        try:
            buckets.spend("read-receipt", f"{me}|{keys.private_conversation(me, peer)}", PUSH_BUCKET, 1, clock.now())
            limits.spend("read_receipts", me, 1, "too many read receipts")
        except (buckets.BucketEmpty, RateLimited):
            return
        push_live([peer], frames.read(to_id=peer, form_id=me, channel_type=PRIVATE, read_seq=read_seq))

    after_commit("read receipt", push)


def is_read(recipient: int, seq: int, read_seqs: dict[int, int], shown: bool) -> int:
    """A message is read when its recipient's read position reached it; 1 (the origin's value) when receipts are
    off for either side."""
    return 1 if not shown or read_seqs.get(recipient, 0) >= seq else 0


def group_reads(me: int, group_id: int, seq: int) -> dict[str, Any]:
    """Members only; of the members present when the message was sent (its sender left out), how many read it."""
    members = groups_db.members(group_id)
    mine = next((member for member in members if member.user_id == me), None)
    if mine is None:
        raise Forbidden(NOT_A_MEMBER)
    if seq <= mine.joined_seq:
        raise InvalidInput("id is not a message of this group")
    found = receipts.group_reads(group_id, seq, members)
    if found.sender is None:
        raise InvalidInput("id is not a message of this group")
    read = [uid for uid in found.read if uid != found.sender]
    unread = [uid for uid in found.unread if uid != found.sender]
    answer: dict[str, Any] = {"id": seq, "read": len(read), "unread": len(unread)}
    if len(members) <= LISTED_MEMBERS:
        answer.update(read_ids=read, unread_ids=unread)
    return answer

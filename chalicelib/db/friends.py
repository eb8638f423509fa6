"""Friendships (one item per direction) and friend requests (a copy per party plus a pending guard)."""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.db import conflicts, keys, outbox, sessions
from chalicelib.db.models import Block, FriendRequest, Friendship, Item, PendingRequestGuard
from chalicelib.db.outbox import Delivery
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.transactions import failed_conditions, transaction

PENDING, ACCEPTED, REJECTED = 0, 1, 2


@dataclass(frozen=True)
class FriendRow:
    id: int
    form_id: int
    to_id: int
    created_at: float
    note: str
    top_time: float
    pinned: int


@dataclass(frozen=True)
class RequestRecord:
    id: int
    form_id: int
    to_id: int
    status: int
    information: str
    created_at: float
    requester_session_id: int
    target_session_id: int


@dataclass(frozen=True)
class Relation:
    """What one BatchGetItem tells about me and another user."""

    friendship: FriendRow | None
    my_pending: int | None
    their_pending: int | None
    blocks_me: bool = False  # the other user blocks me (db/blocks.py)


class Conflict(Exception):
    pass


def _row(item: Friendship) -> FriendRow:
    return FriendRow(int(item.row_id), int(item.form_id), int(item.to_id), float(item.created_at), item.note,
                     float(item.top_time), int(item.pinned))


def _request(item: FriendRequest) -> RequestRecord:
    return RequestRecord(int(item.record_id), int(item.form_id), int(item.to_id), int(item.status), item.information,
                         float(item.created_at), int(item.requester_session_id), int(item.target_session_id))


def list_friends(user_id: int) -> list[FriendRow]:
    return [_row(item) for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.FRIEND_PREFIX))
            if isinstance(item, Friendship)]


def get_friendship(user_id: int, other_id: int) -> FriendRow | None:
    try:
        return _row(Friendship.get(keys.user_pk(user_id), keys.friend_sk(other_id)))
    except Friendship.DoesNotExist:
        return None


def friend_ids_among(user_id: int, candidates: list[int]) -> set[int]:
    """Which candidates are my friends: one BatchGetItem per 100."""
    if not candidates:
        return set()
    items = Item.batch_get([(keys.user_pk(user_id), keys.friend_sk(other)) for other in set(candidates)])
    return {int(item.to_id) for item in items if isinstance(item, Friendship)}


def relation(me: int, other: int) -> Relation:
    friendship = my_pending = their_pending = None
    blocks_me = False
    for item in Item.batch_get([(keys.user_pk(me), keys.friend_sk(other)),
                                (keys.user_pk(me), keys.pending_request_sk(other)),
                                (keys.user_pk(other), keys.pending_request_sk(me)),
                                (keys.user_pk(other), keys.block_sk(me))]):
        if isinstance(item, Block):
            blocks_me = True
        elif isinstance(item, Friendship):
            friendship = _row(item)
        elif isinstance(item, PendingRequestGuard) and item.PK == keys.user_pk(me):
            my_pending = int(item.record_id)
        elif isinstance(item, PendingRequestGuard):
            their_pending = int(item.record_id)
    return Relation(friendship, my_pending, their_pending, blocks_me)


@conflicts.retrying()
def create_request(record: RequestRecord, notify: list[Delivery]) -> None:
    """Both copies and the pending guard, only if neither side already asked, they are not friends and the target
    does not block the requester; `notify` goes to the outbox in the same transaction (as for every change
    below)."""
    me, other = record.form_id, record.to_id

    def copy_for(owner: int) -> FriendRequest:
        return FriendRequest(keys.user_pk(owner), keys.request_sk(record.id), record_id=record.id, form_id=me,
                             to_id=other, status=PENDING, information=record.information,
                             created_at=record.created_at, requester_session_id=record.requester_session_id,
                             target_session_id=record.target_session_id)

    try:
        with transaction() as tx:
            tx.save(PendingRequestGuard(keys.user_pk(me), keys.pending_request_sk(other), record_id=record.id),
                    condition=PendingRequestGuard.PK.does_not_exist())
            tx.condition_check(PendingRequestGuard, keys.user_pk(other), keys.pending_request_sk(me),
                               condition=PendingRequestGuard.PK.does_not_exist())
            tx.condition_check(Friendship, keys.user_pk(me), keys.friend_sk(other),
                               condition=Friendship.PK.does_not_exist())
            tx.condition_check(Block, keys.user_pk(other), keys.block_sk(me), condition=Block.PK.does_not_exist())
            tx.save(copy_for(me))
            tx.save(copy_for(other))
            outbox.add(tx, keys.private_conversation(me, other), notify, record.created_at)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict("the relation changed meanwhile") from error
        raise


def get_request(owner_id: int, record_id: int) -> RequestRecord | None:
    """A request through the caller's own copy: only its parties can find it."""
    try:
        return _request(FriendRequest.get(keys.user_pk(owner_id), keys.request_sk(record_id)))
    except FriendRequest.DoesNotExist:
        return None


def list_requests(user_id: int) -> list[RequestRecord]:
    """Received and sent, newest first (one Query)."""
    return [_request(item) for item in Item.query(keys.user_pk(user_id), Item.SK.startswith(keys.REQUEST_PREFIX),
                                                  scan_index_forward=False)
            if isinstance(item, FriendRequest)]


def _add_answer(tx: TransactWrite, record: RequestRecord, status: int) -> None:
    for owner in (record.form_id, record.to_id):
        tx.update(FriendRequest(keys.user_pk(owner), keys.request_sk(record.id)),
                  actions=[FriendRequest.status.set(status)], condition=FriendRequest.status == PENDING)
    tx.delete(PendingRequestGuard(keys.user_pk(record.form_id), keys.pending_request_sk(record.to_id)),
              condition=PendingRequestGuard.record_id == record.id)


@conflicts.retrying()
def accept(record: RequestRecord, now: float, new_sessions: list[SessionRecord], revive: list[SessionRecord],
           notify: list[Delivery]) -> None:
    """One transaction: the answer on both copies, both friendship rows, and both private sessions."""
    try:
        with transaction() as tx:
            _add_answer(tx, record, ACCEPTED)
            for owner, other in ((record.to_id, record.form_id), (record.form_id, record.to_id)):
                tx.save(Friendship(keys.user_pk(owner), keys.friend_sk(other), row_id=record.id, form_id=owner,
                                   to_id=other, created_at=now, top_time=now),
                        condition=Friendship.PK.does_not_exist())
            for session in new_sessions:
                sessions.add_create(tx, session)
            for session in revive:
                sessions.add_revive(tx, session)
            outbox.add(tx, keys.private_conversation(record.form_id, record.to_id), notify, now)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict("the request was answered meanwhile") from error
        raise


@conflicts.retrying()
def reject(record: RequestRecord, now: float, notify: list[Delivery]) -> None:
    try:
        with transaction() as tx:
            _add_answer(tx, record, REJECTED)
            outbox.add(tx, keys.private_conversation(record.form_id, record.to_id), notify, now)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict("the request was answered meanwhile") from error
        raise


@conflicts.retrying()
def delete_request(record: RequestRecord) -> None:
    """Removes both copies (and the pending guard while it waits)."""
    with transaction() as tx:
        for owner in (record.form_id, record.to_id):
            tx.delete(FriendRequest(keys.user_pk(owner), keys.request_sk(record.id)))
        if record.status == PENDING:
            tx.delete(PendingRequestGuard(keys.user_pk(record.form_id), keys.pending_request_sk(record.to_id)))


@conflicts.retrying()
def remove_friendship(me: int, other: int, now: float, notify: list[Delivery]) -> bool:
    """Both directions in one transaction; False when they were not friends."""
    try:
        with transaction() as tx:
            tx.delete(Friendship(keys.user_pk(me), keys.friend_sk(other)), condition=Friendship.PK.exists())
            tx.delete(Friendship(keys.user_pk(other), keys.friend_sk(me)), condition=Friendship.PK.exists())
            outbox.add(tx, keys.private_conversation(me, other), notify, now)
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True

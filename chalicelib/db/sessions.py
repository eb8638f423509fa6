"""Sessions (conversation-list entries): per owner, at most one per peer, soft-deleted and revivable."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Item, Session, SessionIndex
from chalicelib.db.transactions import failed_conditions, transaction

PRIVATE, GROUP = 1, 2


@dataclass(frozen=True)
class SessionRecord:
    id: int
    owner_id: int
    to_id: int
    group_id: int
    channel_type: int
    conversation: str
    created_at: float
    name: str = ""
    avatar: str = ""
    note: str = ""
    top_status: int = 0
    top_time: float = 0
    status: int = 0
    deleted_at: float = 0
    deleted_seq: int = 0  # the conversation's last sequence when its owner removed it
    read_seq: int = 0
    history_from: int = 0
    mention_seq: int = 0  # db/mentions.py
    mute_until: float = 0  # db/mutes.py: -1 forever

    @property
    def peer_id(self) -> int:
        return self.group_id if self.channel_type == GROUP else self.to_id

    @property
    def hidden_until_revived(self) -> bool:
        """A removed group session (its owner left): only rejoining shows it again."""
        return bool(self.deleted_at) and self.channel_type == GROUP

    def listed(self, last_seq: int) -> bool:
        """Shown in the owner's list: not removed, or a private conversation with a message newer than its
        removal (a new message brings a removed private session back; nothing is written for it)."""
        return not self.deleted_at or (not self.hidden_until_revived and last_seq > self.deleted_seq)


def _record(item: Session) -> SessionRecord:
    return SessionRecord(
        id=int(item.session_id), owner_id=int(item.owner_id), to_id=int(item.to_id), group_id=int(item.group_id),
        channel_type=int(item.channel_type), conversation=item.conversation, created_at=float(item.created_at),
        name=item.name, avatar=item.avatar, note=item.note, top_status=int(item.top_status),
        top_time=float(item.top_time), status=int(item.status), deleted_at=float(item.deleted_at),
        deleted_seq=int(item.deleted_seq or 0),
        read_seq=int(item.read_seq), history_from=int(item.history_from or 0),
        mention_seq=int(item.mention_seq or 0), mute_until=float(item.mute_until or 0),
    )


def _key(owner_id: int, channel_type: int, peer_id: int) -> Session:
    return Session(keys.user_pk(owner_id), keys.session_sk(channel_type, peer_id))


def add_create(tx: TransactWrite, record: SessionRecord) -> None:
    """Two actions: the session (only if the owner has none with this peer) and its id index."""
    tx.save(Session(
        keys.user_pk(record.owner_id), keys.session_sk(record.channel_type, record.peer_id), session_id=record.id,
        owner_id=record.owner_id, to_id=record.to_id, group_id=record.group_id, channel_type=record.channel_type,
        conversation=record.conversation, created_at=record.created_at, name=record.name, avatar=record.avatar,
        note=record.note, top_status=record.top_status, top_time=record.top_time, status=record.status,
        deleted_at=record.deleted_at, read_seq=record.read_seq, history_from=record.history_from,
    ), condition=Session.PK.does_not_exist())
    tx.save(SessionIndex(keys.user_pk(record.owner_id), keys.session_id_sk(record.id),
                         channel_type=record.channel_type, peer_id=record.peer_id),
            condition=SessionIndex.PK.does_not_exist())


def add_revive(tx: TransactWrite, session: SessionRecord) -> None:
    """Shows the session again; a group session of a rejoining member also starts over at their new join."""
    actions: list[Action] = [Session.deleted_at.set(0)]
    if session.history_from:
        actions += [Session.read_seq.set(session.read_seq), Session.history_from.set(session.history_from)]
    tx.update(_key(session.owner_id, session.channel_type, session.peer_id), actions=actions,
              condition=Session.PK.exists())


def existing(pairs: Iterable[tuple[int, int, int]], consistent: bool = False,
             ) -> dict[tuple[int, int, int], SessionRecord]:
    """(owner, channel, peer) → that owner's session with the peer, for those that exist (BatchGet); `consistent`
    when what is read is copied into a write (a rejoining member's mute, onto the new membership)."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    found: dict[tuple[int, int, int], SessionRecord] = {}
    for item in Item.batch_get([(keys.user_pk(owner), keys.session_sk(channel, peer))
                                for owner, channel, peer in wanted], consistent_read=consistent):
        if isinstance(item, Session):
            record = _record(item)
            found[(record.owner_id, record.channel_type, record.peer_id)] = record
    return found


def list_for(owner_id: int) -> list[SessionRecord]:
    """All of an owner's sessions, including soft-deleted ones (one Query)."""
    return [_record(item) for item in Item.query(keys.user_pk(owner_id), Item.SK.startswith(keys.SESSION_PREFIX))
            if isinstance(item, Session)]


@conflicts.retrying()
def create_or_revive(record: SessionRecord) -> SessionRecord:
    """The owner's session with this peer: the existing one (revived) or `record`, created. Race-safe."""
    pair = (record.owner_id, record.channel_type, record.peer_id)
    current = existing([pair]).get(pair)
    if current is not None:
        if current.deleted_at:
            _key(*pair).update(actions=[Session.deleted_at.set(0)], condition=Session.PK.exists())
            current = replace(current, deleted_at=0)
        return current
    try:
        with transaction() as tx:
            add_create(tx, record)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise conflicts.LostRace("another request created this session meanwhile") from error
        raise
    return record


def peer_of(owner_id: int, session_id: int) -> tuple[int, int] | None:
    try:
        index = SessionIndex.get(keys.user_pk(owner_id), keys.session_id_sk(session_id))
    except SessionIndex.DoesNotExist:
        return None
    return int(index.channel_type), int(index.peer_id)


@conflicts.retrying()
def remove(owner_id: int, channel_type: int, peer_id: int, now: float, last_seq: int) -> bool:
    """Hide the owner's session up to the conversation's `last_seq` (read by the caller just before); False when
    it does not exist. A message committed meanwhile has a higher sequence, and shows the session again."""
    return _update_existing(owner_id, channel_type, peer_id,
                            [Session.deleted_at.set(now), Session.deleted_seq.set(last_seq)])


@conflicts.retrying()
def set_fields(owner_id: int, channel_type: int, peer_id: int, *, top_status: int | None = None,
               top_time: float | None = None, note: str | None = None) -> bool:
    """The owner's session with the peer (found by the caller with `peer_of`); False when it does not exist. The
    read position is `mark_read`'s: it only moves forward."""
    actions: list[Action] = []
    if top_status is not None:
        actions.append(Session.top_status.set(top_status))
    if top_time is not None:
        actions.append(Session.top_time.set(top_time))
    if note is not None:
        actions.append(Session.note.set(note))
    return _update_existing(owner_id, channel_type, peer_id, actions)


def _update_existing(owner_id: int, channel_type: int, peer_id: int, actions: list[Action]) -> bool:
    """One UpdateItem of the session, only if it exists (False otherwise: nothing is created)."""
    try:
        _key(owner_id, channel_type, peer_id).update(actions=actions, condition=Session.PK.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@conflicts.retrying()
def mark_read(owner_id: int, channel_type: int, peer_id: int, seq: int) -> int | None:
    """Move the owner's read position forward to `seq`, never back: one conditional UpdateItem, so an older page,
    a stale client or a concurrent reader cannot lower it. The position it moved from (UPDATED_OLD), or None when
    it did not move (already at or past `seq`, or no such session)."""
    session = _key(owner_id, channel_type, peer_id)
    try:
        answer = Session._get_connection().update_item(
            session.PK, range_key=session.SK, actions=[Session.read_seq.set(seq)],
            condition=Session.PK.exists() & (Session.read_seq < seq), return_values="UPDATED_OLD")
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return None
    return int(answer.get("Attributes", {}).get(Session.read_seq.attr_name, {}).get("N", 0))

"""圈组 servers: one item per server, the owner's live-server quota and creation clock (two Counter items).

A server is live while `valid_flag` is 1. Only live servers carry GSI1 (owner partition, createTime order),
so an owner's page is one Query that never reads a removed server. Creation is one transaction that bumps
the owner's quota (only below the limit), moves the owner's creation clock forward (so createTime is unique
per owner and a millisecond `timetag` is an exact cursor) and puts the server.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Counter, Item, ServerGroup, tag
from chalicelib.db.transactions import failed_conditions, transaction

LIVE, REMOVED = 1, 0
CREATE_ATTEMPTS = 8
# Positions in the wire request: PynamoDB sends condition checks, deletes, puts, then updates (each in the
# order added), whatever order the actions were added in; cancellation reasons follow the wire order.
_SERVER, _QUOTA, _CLOCK = 0, 1, 2


@dataclass(frozen=True)
class ServerRecord:
    id: int
    owner_id: int
    name: str
    create_time: int
    update_time: int
    icon: str = ""
    custom: str = ""
    invite_mode: int = 0
    apply_mode: int = 0
    search_type: int = 0
    search_enable: int = 1
    member_number: int = 1
    valid_flag: int = LIVE

    @property
    def live(self) -> bool:
        return self.valid_flag == LIVE


class QuotaExceeded(Exception):
    """The owner already has the maximum number of live servers."""


class Contention(Exception):
    """Other creations of the same owner kept taking the next millisecond; the caller may retry."""


def _record(item: ServerGroup) -> ServerRecord:
    return ServerRecord(
        id=int(item.server_id), owner_id=int(item.owner_id), name=item.name, create_time=int(item.create_time),
        update_time=int(item.update_time), icon=item.icon, custom=item.custom, invite_mode=int(item.invite_mode),
        apply_mode=int(item.apply_mode), search_type=int(item.search_type), search_enable=int(item.search_enable),
        member_number=int(item.member_number), valid_flag=int(item.valid_flag),
    )


def _key(server_id: int) -> ServerGroup:
    return ServerGroup(keys.server_pk(server_id), keys.SERVER_SK)


def _quota(owner_id: int) -> Counter:
    return Counter(keys.user_pk(owner_id), keys.SERVER_QUOTA_SK)


def _item(record: ServerRecord) -> ServerGroup:
    return ServerGroup(
        keys.server_pk(record.id), keys.SERVER_SK,
        GSI1PK=keys.server_owner_pk(record.owner_id), GSI1SK=keys.server_owner_sk(record.create_time, record.id),
        server_id=record.id, owner_id=record.owner_id, name=record.name, icon=record.icon, custom=record.custom,
        invite_mode=record.invite_mode, apply_mode=record.apply_mode, search_type=record.search_type,
        search_enable=record.search_enable, member_number=record.member_number, create_time=record.create_time,
        update_time=record.update_time, valid_flag=LIVE,
    )


def _clock_value(error: TransactWriteError) -> int | None:
    """The owner's creation clock as the cancelled transaction saw it (ReturnValuesOnConditionCheckFailure)."""
    reasons = error.cancellation_reasons or []
    reason = reasons[_CLOCK] if len(reasons) > _CLOCK else None
    raw = (reason.raw_item or {}).get("value") if reason else None
    return int(raw["N"]) if raw and "N" in raw else None


@conflicts.retrying()
def create(record: ServerRecord, max_live: int) -> ServerRecord:
    """Stores `record` unless its owner has `max_live` live servers (QuotaExceeded). Race-safe.

    createTime is strictly increasing per owner: when another create of the same owner already used this
    millisecond (or a later one), the server takes the next free millisecond. The returned record has the
    createTime/updateTime actually stored.
    """
    for _ in range(CREATE_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.save(_item(record), condition=ServerGroup.PK.does_not_exist())
                tx.update(_quota(record.owner_id), actions=[tag(Counter), Counter.value.add(1)],
                          condition=Counter.value.does_not_exist() | (Counter.value < max_live))
                tx.update(Counter(keys.user_pk(record.owner_id), keys.SERVER_CLOCK_SK),
                          actions=[tag(Counter), Counter.value.set(record.create_time)],
                          condition=Counter.value.does_not_exist() | (Counter.value < record.create_time),
                          return_values="ALL_OLD")
        except TransactWriteError as error:
            failed = failed_conditions(error)
            if _QUOTA in failed:
                raise QuotaExceeded(str(record.owner_id)) from error
            if failed != [_CLOCK]:
                raise
            seen = _clock_value(error)
            at = max(record.create_time, seen + 1) if seen is not None else record.create_time + 1
            record = replace(record, create_time=at, update_time=at)
            continue
        return record
    raise Contention(str(record.owner_id))


def get(server_id: int) -> ServerRecord | None:
    try:
        return _record(ServerGroup.get(keys.server_pk(server_id), keys.SERVER_SK))
    except ServerGroup.DoesNotExist:
        return None


def get_many(server_ids: Iterable[int]) -> dict[int, ServerRecord]:
    """Found servers (live or not) by id: one BatchGetItem per 100 ids."""
    wanted = list(dict.fromkeys(server_ids))
    if not wanted:
        return {}
    found: dict[int, ServerRecord] = {}
    for item in Item.batch_get([(keys.server_pk(server_id), keys.SERVER_SK) for server_id in wanted]):
        if isinstance(item, ServerGroup):
            record = _record(item)
            found[record.id] = record
    return found


def _owned_and_live(owner_id: int) -> Condition:
    return (ServerGroup.owner_id == owner_id) & (ServerGroup.valid_flag == LIVE)


@conflicts.retrying()
def update(server_id: int, owner_id: int, now_ms: int, *, name: str | None = None, icon: str | None = None,
           custom: str | None = None, invite_mode: int | None = None, apply_mode: int | None = None,
           search_type: int | None = None, search_enable: int | None = None) -> ServerRecord | None:
    """Sets the given fields and updateTime; None when the server is not a live server of `owner_id`."""
    item = _key(server_id)
    actions: list[Action] = [ServerGroup.update_time.set(now_ms)]
    for text, value in ((ServerGroup.name, name), (ServerGroup.icon, icon), (ServerGroup.custom, custom)):
        if value is not None:
            actions.append(text.set(value))
    for number, amount in ((ServerGroup.invite_mode, invite_mode), (ServerGroup.apply_mode, apply_mode),
                           (ServerGroup.search_type, search_type), (ServerGroup.search_enable, search_enable)):
        if amount is not None:
            actions.append(number.set(amount))
    try:
        item.update(actions=actions, condition=_owned_and_live(owner_id))
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return _record(item)


@conflicts.retrying()
def remove(server_id: int, owner_id: int, now_ms: int) -> bool:
    """Soft delete: validFlag 0, off the owner's index, quota freed, in one transaction.

    False when it is not a live server of `owner_id` (never existed, someone else's, or already removed).
    """
    try:
        with transaction() as tx:
            tx.update(_key(server_id),
                      actions=[ServerGroup.valid_flag.set(REMOVED), ServerGroup.update_time.set(now_ms),
                               ServerGroup.GSI1PK.remove(), ServerGroup.GSI1SK.remove()],
                      condition=_owned_and_live(owner_id))
            # unconditional: the server's condition already makes this happen once per live server
            tx.update(_quota(owner_id), actions=[tag(Counter), Counter.value.add(-1)])
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True


def page_by_owner(owner_id: int, before_ms: int | None, limit: int) -> tuple[list[ServerRecord], bool]:
    """The owner's live servers newest first, created strictly before `before_ms` (all when None).

    One Query on GSI1 reading at most `limit` + 1 items; the extra one only tells whether more exist.
    """
    condition = Item.GSI1SK < keys.server_time(before_ms) if before_ms else None
    items = [_record(item) for item in Item.gsi1.query(keys.server_owner_pk(owner_id), condition,
                                                       scan_index_forward=False, limit=limit + 1)
             if isinstance(item, ServerGroup)]
    return items[:limit], len(items) > limit

"""A Query on moto reads only the partition it names, so its cost does not grow with the table.

moto 5.2.5's `Table.query` asks `Table.all_items()` for every item of the table, sorted by key (Python-level
`DynamoType` comparisons), and only then keeps the partition the Query names: every Query costs O(table log table),
so the local stack and the tests slow down as the table fills. Here moto's own query runs unchanged, but in the
querying thread `all_items()` answers only the candidates: the items of the named partition of the table, or of the
named GSI partition. moto then filters, sorts, pages (`Limit`, `ExclusiveStartKey`, `LastEvaluatedKey`, 1 MB) and
projects exactly as before. The candidates are a superset of what moto would keep and every sort key moto uses
ends with the table's key, so the answer is identical (tests/integration/test_moto_partitions.py compares it with
unpatched moto on randomised tables).

A GSI partition is found through a map kept per table and per attribute that is the hash key of one of its indexes:
built on the table's first query of that index (one pass), then updated after every write that can change an item:
`Table.put_item` and `Table.delete_item` (through which moto's PutItem, DeleteItem, BatchWriteItem and transactions
write), the backend's `update_item` (which changes an item in place) and the isolation's undo of a failed
transaction (`refresh_key`). Those are all the paths moto 5.2.5 writes items through, so the module refuses any
other moto version (infra/local/moto_patches.py checks it).

Installed with the isolation (whose lock serialises the maps' updates with the queries) by
`infra.local.moto_patches.patch_moto()`, for the in-process tests and the local stack's moto server alike.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_MAPS_ATTRIBUTE = "_philatelic_partition_maps"
_moto_query = Table.query
_moto_all_items = Table.all_items
_QUERY_SIGNATURE = inspect.signature(_moto_query)
_local = threading.local()  # .candidates: (table, items) while this thread runs moto's query; .unpatched: bool

ItemKey = tuple[DynamoType, DynamoType | None]


class _AttributeMap:
    """The items of one table by the value of one attribute (a GSI's hash key)."""

    def __init__(self, table: Table, attribute: str) -> None:
        self.attribute = attribute
        self.by_value: dict[DynamoType, dict[ItemKey, Item]] = {}
        self.value_of: dict[ItemKey, DynamoType] = {}
        for item in _stored_items(table):
            self.add((item.hash_key, item.range_key), item)

    def add(self, key: ItemKey, item: Item) -> None:
        value = item.attrs.get(self.attribute)
        if value is None:
            return
        try:
            self.by_value.setdefault(value, {})[key] = item
        except TypeError:  # a list or map: never equal to a key value, so no query can name it
            return
        self.value_of[key] = value

    def remove(self, key: ItemKey) -> None:
        value = self.value_of.pop(key, None)
        if value is None:
            return
        partition = self.by_value[value]
        del partition[key]
        if not partition:
            del self.by_value[value]


def read_partitions_only() -> None:
    """Changes moto's DynamoDB classes for the whole process, once (infra/local/moto_patches.py), before the
    isolation wraps them."""
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.put_item = _refreshed_after_put(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _refreshed_after_delete(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _refreshed_after_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]


@contextlib.contextmanager
def unpatched() -> Iterator[None]:
    """moto's own O(table) Query in this thread, to compare answers with."""
    _local.unpatched = True
    try:
        yield
    finally:
        _local.unpatched = False


def refresh_key(table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> None:
    """Brings the table's attribute maps up to date for one item key, after anything changed that item."""
    maps: dict[str, _AttributeMap] | None = table.__dict__.get(_MAPS_ATTRIBUTE)
    if not maps:
        return
    key = (hash_value, range_value)
    item = _stored_item(table, hash_value, range_value)
    for attribute_map in maps.values():
        attribute_map.remove(key)
        if item is not None:
            attribute_map.add(key, item)


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    if getattr(_local, "unpatched", False):
        return _moto_query(self, *args, **kwargs)
    arguments = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    candidates = _candidates(self, arguments.get("hash_key"), arguments.get("index_name"),
                             arguments.get("hash_key_conditions"))
    if candidates is None:
        return _moto_query(self, *args, **kwargs)
    _local.candidates = (self, candidates)
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        _local.candidates = None


def _all_items(self: Table) -> list[Item]:
    handed = getattr(_local, "candidates", None)
    if handed is not None and handed[0] is self:
        return list(handed[1])
    return _moto_all_items(self)


def _candidates(table: Table, hash_key: DynamoType | None, index_name: str | None,
                hash_conditions: list[tuple[str, DynamoType]] | None) -> list[Item] | None:
    """The items moto's query may keep, or None when this module cannot tell (moto then reads the whole table)."""
    if not index_name:
        return None if hash_key is None else _partition(table, hash_key)
    if not hash_conditions:
        return None
    attribute, value = hash_conditions[0]
    if attribute == table.hash_key_attr:  # a local index: the table's own partition
        return _partition(table, value)
    indexed = {key["AttributeName"] for index in table.all_indexes() for key in index.schema
               if key["KeyType"] == "HASH"}
    if attribute not in indexed:
        return None
    maps: dict[str, _AttributeMap] = table.__dict__.setdefault(_MAPS_ATTRIBUTE, {})
    if attribute not in maps:
        maps[attribute] = _AttributeMap(table, attribute)
    try:
        return list(maps[attribute].by_value.get(value, {}).values())
    except TypeError:
        return []


def _partition(table: Table, hash_key: DynamoType) -> list[Item]:
    try:
        stored = table.items.get(hash_key)
    except TypeError:
        return []
    if stored is None:
        return []
    return list(stored.values()) if table.range_key_attr else [stored]  # type: ignore[list-item]


def _stored_items(table: Table) -> Iterator[Item]:
    for stored in table.items.values():
        if table.range_key_attr:
            yield from stored.values()
        else:
            yield stored  # type: ignore[misc]


def _stored_item(table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> Item | None:
    stored = table.items.get(hash_value)
    if stored is None:
        return None
    if table.range_key_attr:
        return stored.get(range_value)
    return stored  # type: ignore[return-value]


def _refreshed_after_put(put_item: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(put_item)
    def refreshed(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = put_item(self, *args, **kwargs)
        refresh_key(self, item.hash_key, item.range_key)
        return item

    return refreshed


def _refreshed_after_delete(delete_item: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(delete_item)
    def refreshed(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            refresh_key(self, hash_key, range_key)

    return refreshed


def _refreshed_after_update(update_item: Callable[..., Item]) -> Callable[..., Item]:
    """moto changes the stored item in place; the key is refreshed even when the update fails half-way."""
    @functools.wraps(update_item)
    def refreshed(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            _refresh_named_key(self, table_name, key)

    return refreshed


def _refresh_named_key(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
    table = backend.tables.get(table_name)
    if table is None or not table.__dict__.get(_MAPS_ATTRIBUTE):
        return
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    except (KeyError, TypeError, AttributeError):  # a malformed key: moto refused it before changing anything
        return
    refresh_key(table, hash_value, range_value)

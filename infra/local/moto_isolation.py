"""DynamoDB's isolation for moto: one operation at a time, and transactions undone item by item.

moto 5.2.5 checks a condition and applies the write in separate steps without a lock, and its
TransactWriteItems deep-copies every table it touches first, putting the copy back when any part fails. Under
concurrent requests two writers can both pass a condition, the copy trips over a table changing underneath it
("dictionary changed size during iteration") and a rollback undoes other requests' writes. The copy also costs
time in proportion to the whole table, so a transaction gets slower with every item stored.

moto also adds a stream record for each part of a transaction as it applies it, so a transaction that then fails
leaves records of writes that never happened in the table's stream (real DynamoDB records only committed writes):
the delivery function would push frames for them.

moto's request handler also reads the item it answers outside the backend's operation: UpdateItem gets the item
before the update, has the backend apply it, and only then turns the table's live item into its answer. Two
increments of one counter running side by side could both answer the second one's value (two sends of one group
took the same sequence in CI). DynamoDB answers each write with the item as that write left it.

DynamoDB is atomic per item and per transaction, so the tests (in-process moto) and the local stack's moto server
(`infra/local/moto_main.py`) call `isolate_dynamodb()` (through `infra.local.moto_patches.patch_moto()`): one
re-entrant lock around each item operation, from the handler reading the request to its answer built, around the
backend's item operations (which tests and tools also call directly) and around the stream reads; and a transaction
remembers only the items it names and restores those, and the stream of their tables, when it fails.
"""
from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

from infra.local.moto_partitions import refresh_key

ITEM_OPERATIONS = ("put_item", "update_item", "delete_item", "get_item", "batch_write_item", "batch_get_item",
                   "query", "scan", "transact_get_items", "transact_write_items")
STREAM_READS = ("get_shard_iterator", "get_records")
_lock = threading.RLock()
_installed = False


def isolate_dynamodb() -> None:
    """Idempotent; changes moto's DynamoDB backend class for the whole process."""
    global _installed
    if _installed:
        return
    _installed = True
    DynamoDBBackend.transact_write_items = _undo_by_item(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    # moto's own rollback puts back what `copy.deepcopy(table)` returned: the same table, now restored by item.
    dynamodb_models.copy = _TablesNotCopied()  # type: ignore[attr-defined]
    for name in ITEM_OPERATIONS:
        setattr(DynamoDBBackend, name, _one_at_a_time(getattr(DynamoDBBackend, name)))
        # the handler's action of the same name: its answer is built from the item under the same lock
        setattr(DynamoHandler, name, _one_at_a_time(getattr(DynamoHandler, name)))
    # a reader never sees the records of a transaction that may still fail
    for name in STREAM_READS:
        setattr(DynamoDBStreamsBackend, name, _one_at_a_time(getattr(DynamoDBStreamsBackend, name)))


class _TablesNotCopied:
    @staticmethod
    def deepcopy(value: Any) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value)


def _one_at_a_time(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return operation(self, *args, **kwargs)

    return locked


def _undo_by_item(transact: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(transact)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = [_saved_item(self, operation) for item in transact_items for operation in item.values()]
        streams = {id(shard): (shard, len(shard.items)) for table, *_ in filter(None, saved)
                   if (shard := table.stream_shard) is not None}
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before in filter(None, saved):
                _restore(table, hash_value, range_value, before)
            for shard, length in streams.values():
                del shard.items[length:]  # the records of this transaction's parts: the last ones, under the lock
            raise

    return transact_write_items


Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def _saved_item(backend: DynamoDBBackend, operation: Any) -> Saved | None:
    """The item an operation names as it is now; None for a malformed operation (moto answers that one)."""
    try:
        table = backend.get_table(operation["TableName"])
        key = operation.get("Key") or operation["Item"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        return table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))
    except Exception:  # the transaction itself reports what is wrong with it
        return None


def _restore(table: Table, hash_value: DynamoType, range_value: DynamoType | None, before: Any) -> None:
    _put_back(table, hash_value, range_value, before)
    refresh_key(table, hash_value, range_value)


def _put_back(table: Table, hash_value: DynamoType, range_value: DynamoType | None, before: Any) -> None:
    if range_value is None:
        if before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
    elif before is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = before

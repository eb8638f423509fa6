"""Write and read units as on-demand DynamoDB bills them, metered on the in-process moto (which returns made-up
`ConsumedCapacity`), so tests/perf can gate units per operation exactly and `make bench` can price them.

The rules, from the DynamoDB Developer Guide ("Capacity unit consumption for read/write operations", "Item sizes")
and the API reference of each call:
- an item's size is the UTF-8 length of each attribute name plus its value: a string's UTF-8 bytes, a number's
  significant digits two to a byte plus one, binary bytes, a boolean or null one byte, a set the sum of its
  elements, a list or map 3 bytes plus its elements plus one byte per element;
- a write costs one unit per KB (rounded up) of the larger of the item before and after it (a delete: the item it
  removed; a write whose condition failed: still the item it met, at least 1); in a transaction every item counts
  double, a ConditionCheck too; BatchWriteItem counts each item as its own put or delete;
- a write that adds, changes or removes an item in the global secondary index (all attributes projected) costs the
  index one unit per KB of the item it writes there, two when it moves the item to another index key; an index
  write counts once, in a transaction too (an assumption: the guide does not say it doubles);
- a read costs one unit per 4 KB, half for an eventually consistent one: GetItem and each BatchGetItem key by its
  own item (a missing one still costs the minimum), a Query by the total of the items it read, at least one unit.
A canceled transaction is metered as if it wrote (the guide bills the attempt); nothing is metered for calls the
meter does not know, which fails loudly instead.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

KEY = ("PK", "SK")
INDEX_KEY = ("GSI1PK", "GSI1SK")
WIRE = dict[str, Any]


def value_size(value: WIRE) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(inner) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode("utf-8")) + value_size(element) + 1 for name, element in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") if "e" not in text.lower() else text
    return math.ceil(max(1, len(digits)) / 2) + 1


def item_size(item: WIRE | None) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


@dataclass
class Units:
    wru: float = 0
    rru: float = 0
    by_call: dict[str, list[float]] = field(default_factory=dict)  # operation → [wru, rru]

    def add(self, operation: str, wru: float, rru: float) -> None:
        self.wru += wru
        self.rru += rru
        spent = self.by_call.setdefault(operation, [0.0, 0.0])
        spent[0] += wru
        spent[1] += rru


class _Table:
    """The stored items, read straight from moto's backend (no request, nothing counted)."""

    def __init__(self, client: BaseClient, name: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._table = dynamodb_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name].get_table(name)

    def item(self, key: WIRE) -> WIRE | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        found = self._table.get_item(DynamoType(key[KEY[0]]), DynamoType(key[KEY[1]]))
        return found.to_json()["Attributes"] if found is not None else None


def _key_of(item: WIRE) -> WIRE:
    return {name: item[name] for name in KEY}


def _index_units(before: WIRE | None, after: WIRE | None) -> int:
    def index_key(item: WIRE | None) -> tuple[Any, ...] | None:
        if item is None or any(name not in item for name in INDEX_KEY):
            return None
        return tuple(str(item[name]) for name in INDEX_KEY)

    old, new = index_key(before), index_key(after)
    if old is None and new is None:
        return 0
    if old is not None and new is not None and old != new:
        return write_units(item_size(before)) + write_units(item_size(after))
    if new is None:
        return write_units(item_size(before))  # removed from the index
    if before == after:
        return 0
    return write_units(item_size(after))


class _Write:
    """One item's write: the item before, read ahead of the call, and the item after."""

    def __init__(self, table: _Table, key: WIRE, sent: WIRE | None = None, check_only: bool = False) -> None:
        self.table, self.key, self.sent, self.check_only = table, key, sent, check_only
        self.before = table.item(key)

    def units(self, done: bool, factor: int) -> float:
        """`done`: the call went through; otherwise its condition (or a canceled transaction) refused it."""
        if self.check_only:
            return factor * write_units(item_size(self.before))
        after = self.table.item(self.key) if done else None
        biggest = max(item_size(self.before), item_size(after), item_size(self.sent))
        return factor * write_units(biggest) + (_index_units(self.before, after) if done else 0)


def _writes(client: BaseClient, operation: str, params: WIRE) -> tuple[list[_Write], int]:
    """The items a write call touches, read before it runs, and how much each counts (2 in a transaction)."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        table = _Table(client, params["TableName"])
        sent = params.get("Item")
        return [_Write(table, sent and _key_of(sent) or params["Key"], sent)], 1
    if operation == "BatchWriteItem":
        found = []
        for name, requests in params["RequestItems"].items():
            table = _Table(client, name)
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    found.append(_Write(table, _key_of(item), item))
                else:
                    found.append(_Write(table, request["DeleteRequest"]["Key"]))
        return found, 1
    if operation == "TransactWriteItems":
        found = []
        for action in params["TransactItems"]:
            (kind, body), = action.items()
            table = _Table(client, body["TableName"])
            if kind == "Put":
                found.append(_Write(table, _key_of(body["Item"]), body["Item"]))
            else:
                found.append(_Write(table, body["Key"], check_only=kind == "ConditionCheck"))
        return found, 2
    return [], 0


def _read_units(client: BaseClient, operation: str, params: WIRE, response: WIRE | None) -> float:
    if operation == "GetItem":
        item = _Table(client, params["TableName"]).item(params["Key"])
        return read_units(item_size(item), bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        total = 0.0
        for name, request in params["RequestItems"].items():
            table = _Table(client, name)
            total += sum(read_units(item_size(table.item(key)), bool(request.get("ConsistentRead")))
                         for key in request["Keys"])
        return total
    if operation == "Query":
        if "ProjectionExpression" in params or "Select" in params or not _only_discriminator_filter(params):
            raise NotImplementedError(f"the meter reads a Query's items from its answer: {params}")
        items = (response or {}).get("Items", [])
        return read_units(sum(item_size(item) for item in items), bool(params.get("ConsistentRead")))
    if operation == "Scan":
        raise NotImplementedError("the app never scans")
    return 0.0


def _only_discriminator_filter(params: WIRE) -> bool:
    """PynamoDB filters a query of the polymorphic Item on its discriminator `T` (every stored item passes it):
    what the Query read is then exactly what it answered."""
    if "FilterExpression" not in params:
        return True
    named = {value for name, value in params.get("ExpressionAttributeNames", {}).items()
             if name in params["FilterExpression"]}
    return named == {"T"}


UNMETERED = {"DescribeTable", "CreateTable", "UpdateTable", "DescribeTimeToLive", "UpdateTimeToLive",
             "ListTables", "DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "BatchGetItem", "Query", "Scan"}


@contextmanager
def metering_units(part: Callable[[], str] = lambda: "all") -> Iterator[dict[str, Units]]:
    """Every DynamoDB call made inside (boto3 and PynamoDB alike) adds its units to the yielded map, under the
    name `part` gives when it is made (tests/perf: "request", or "delivery" for the test pump's calls)."""
    parts: dict[str, Units] = {}
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def wrapped(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
        if service != "dynamodb" or operation_name in UNMETERED:
            return original(self, operation_name, api_params)
        if operation_name not in WRITES | READS:
            raise NotImplementedError(f"the unit meter does not know DynamoDB's {operation_name}")
        writes, factor = _writes(self, operation_name, api_params)
        response: Any = None
        done = False
        try:
            response = original(self, operation_name, api_params)
            done = True
            return response
        finally:
            wru = sum(write.units(done, factor) for write in writes)
            rru = _read_units(self, operation_name, api_params, response) if operation_name in READS else 0.0
            with lock:
                parts.setdefault(part(), Units()).add(operation_name, wru, rru)

    BaseClient._make_api_call = wrapped  # type: ignore[method-assign]
    try:
        yield parts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]

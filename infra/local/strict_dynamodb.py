"""Refuse, as real DynamoDB does, the requests moto accepts (rules and sources: docs/dynamodb-fidelity.md).

`refusals(action, request, keys_of)` is a pure check of one low-level DynamoDB request (the JSON body botocore
sends). `enforce()` installs it in front of moto's DynamoDB handler, for the in-process tests (tests/conftest.py)
and the local stack's moto server (infra/local/moto_main.py): a refused request is answered with DynamoDB's
`ValidationException`, printed as an error line (`strict-dynamodb: refused …`) and remembered in `REFUSED`, which
the test suite asserts stays empty.
"""
from __future__ import annotations

import base64
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
MAX_TRANSACTION_ACTIONS = 100
MAX_NUMBER_DIGITS = 38
EXPRESSIONS = ("ConditionExpression", "UpdateExpression", "KeyConditionExpression", "FilterExpression",
               "ProjectionExpression")
_NAME = re.compile(r"#[A-Za-z0-9_]+")
_VALUE = re.compile(r":[A-Za-z0-9_]+")
LOG_MARK = "strict-dynamodb: refused"


@dataclass(frozen=True)
class TableKeys:
    partition: str
    sort: str | None
    index_keys: frozenset[str] = frozenset()  # key attributes of secondary indexes
    global_indexes: frozenset[str] = frozenset()


KeysOf = Callable[[str], TableKeys | None]


def refusals(action: str, request: dict[str, Any], keys_of: KeysOf) -> list[str]:
    """What real DynamoDB would refuse in this request (empty: it would accept it)."""
    problems: list[str] = []
    if action in ("PutItem", "UpdateItem", "DeleteItem", "GetItem"):
        problems += _single(action, request, keys_of)
    elif action in ("Query", "Scan"):
        problems += _expressions(request)
        if request.get("IndexName") and request.get("ConsistentRead") and _is_global_index(request, keys_of):
            problems.append("Consistent reads are not supported on global secondary indexes")
        problems += _values_problems(request.get("ExpressionAttributeValues") or {})
    elif action == "BatchWriteItem":
        problems += _batch_write(request, keys_of)
    elif action == "BatchGetItem":
        problems += _batch_get(request, keys_of)
    elif action == "TransactWriteItems":
        problems += _transaction(request, keys_of)
    elif action == "TransactGetItems" and len(request.get("TransactItems") or []) > MAX_TRANSACTION_ACTIONS:
        problems.append(f"Member must have length less than or equal to {MAX_TRANSACTION_ACTIONS}")
    return problems


def _single(action: str, part: dict[str, Any], keys_of: KeysOf) -> list[str]:
    problems = _expressions(part)
    problems += _values_problems(part.get("ExpressionAttributeValues") or {})
    schema = keys_of(part.get("TableName", ""))
    if action == "PutItem":
        item = part.get("Item") or {}
        problems += _values_problems(item)
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            problems.append(f"Item size has exceeded the maximum allowed size ({size} > {MAX_ITEM_BYTES} bytes)")
        if schema is not None:
            problems += _key_problems(item, schema, include_indexes=True)
    elif schema is not None and "Key" in part:
        problems += _key_problems(part["Key"], schema, include_indexes=False)
    return problems


def _expressions(part: dict[str, Any]) -> list[str]:
    """Every name/value the expressions use is defined, and every one defined is used (also in transactions)."""
    text = " ".join(str(part.get(field) or "") for field in EXPRESSIONS)
    used_names, used_values = set(_NAME.findall(text)), set(_VALUE.findall(text))
    names = set(part.get("ExpressionAttributeNames") or {})
    values = set(part.get("ExpressionAttributeValues") or {})
    problems = []
    if names - used_names:
        problems.append(f"Value provided in ExpressionAttributeNames unused in expressions: keys: "
                        f"{{{', '.join(sorted(names - used_names))}}}")
    if values - used_values:
        problems.append(f"Value provided in ExpressionAttributeValues unused in expressions: keys: "
                        f"{{{', '.join(sorted(values - used_values))}}}")
    for name in sorted(used_names - names):
        problems.append(f"An expression attribute name used in the document path is not defined; attribute name: "
                        f"{name}")
    for value in sorted(used_values - values):
        problems.append(f"An expression attribute value used in expression is not defined; attribute value: {value}")
    return problems


def _walk(value: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (type, payload) of an AttributeValue and of what it contains."""
    for kind, payload in value.items():
        yield kind, payload
        if kind == "L":
            for element in payload:
                yield from _walk(element)
        elif kind == "M":
            for element in payload.values():
                yield from _walk(element)


def _values_problems(values: dict[str, Any]) -> list[str]:
    problems = []
    for value in values.values():
        for kind, payload in _walk(value):
            if kind in ("SS", "NS", "BS") and not payload:
                problems.append("One or more parameter values were invalid: An number set  may not be empty"
                                if kind == "NS" else f"One or more parameter values were invalid: An {kind} may not "
                                                     f"be empty")
            for number in (payload if kind == "NS" else [payload] if kind == "N" else []):
                problem = _number_problem(str(number))
                if problem:
                    problems.append(problem)
    return problems


def _number_problem(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return f"The parameter cannot be converted to a numeric value: {text}"
    if not number.is_finite():
        return f"The parameter cannot be converted to a numeric value: {text}"
    digits = number.as_tuple().digits
    significant = "".join(map(str, digits)).strip("0")
    if len(significant) > MAX_NUMBER_DIGITS:
        return f"Attempting to store more than {MAX_NUMBER_DIGITS} significant digits in a Number: {text}"
    if number and not (Decimal("1E-130") <= abs(number) < Decimal("1E126")):
        return f"Number overflow or underflow. Attempting to store a number with magnitude out of range: {text}"
    return None


def _key_bytes(value: dict[str, Any]) -> int | None:
    if "S" in value:
        return len(value["S"].encode("utf-8"))
    if "B" in value:
        return len(_binary(value["B"]))
    return None


def _binary(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    try:
        return base64.b64decode(payload)
    except ValueError:
        return str(payload).encode()


def _key_problems(item: dict[str, Any], schema: TableKeys, *, include_indexes: bool) -> list[str]:
    problems = []
    limits = [(schema.partition, MAX_PARTITION_KEY_BYTES, True)]
    if schema.sort:
        limits.append((schema.sort, MAX_SORT_KEY_BYTES, True))
    if include_indexes:
        limits += [(name, MAX_PARTITION_KEY_BYTES, False) for name in sorted(schema.index_keys)]
    for name, limit, required in limits:
        value = item.get(name)
        if value is None:
            if required:
                problems.append(f"One of the required keys was not given a value: {name}")
            continue
        size = _key_bytes(value)
        if size == 0:
            problems.append(f"One or more parameter values are not valid. The AttributeValue for a key attribute "
                            f"cannot contain an empty string value. Key: {name}")
        elif size is not None and size > limit:
            problems.append(f"Aggregated size of all range keys has exceeded the size limit of {limit} bytes"
                            if limit == MAX_SORT_KEY_BYTES else
                            f"Hash primary key values must be under {limit} bytes: {name} is {size} bytes")
    return problems


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute name lengths plus value sizes (numbers approximated from above)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    kind, payload = next(iter(value.items()))
    if kind == "S":
        return len(payload.encode("utf-8"))
    if kind == "N":
        return len(str(payload).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(_binary(payload))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(element.encode("utf-8")) for element in payload)
    if kind == "NS":
        return sum(len(str(element)) // 2 + 2 for element in payload)
    if kind == "BS":
        return sum(len(_binary(element)) for element in payload)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in payload)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + _value_size(element) for name, element in payload.items())
    return 0


def _key_of(item: dict[str, Any], schema: TableKeys | None) -> str:
    names = [schema.partition] + ([schema.sort] if schema.sort else []) if schema else sorted(item)
    return json.dumps([item.get(name) for name in names], sort_keys=True)


def _batch_write(request: dict[str, Any], keys_of: KeysOf) -> list[str]:
    problems = []
    tables = request.get("RequestItems") or {}
    count = sum(len(writes) for writes in tables.values())
    if count > MAX_BATCH_WRITE:
        problems.append(f"Too many items requested for the BatchWriteItem call ({count} > {MAX_BATCH_WRITE})")
    for table, writes in tables.items():
        schema = keys_of(table)
        seen: set[str] = set()
        for write in writes:
            if "PutRequest" in write:
                item = write["PutRequest"].get("Item") or {}
                problems += _single("PutItem", {"TableName": table, "Item": item}, keys_of)
            else:
                item = write.get("DeleteRequest", {}).get("Key") or {}
            key = _key_of(item, schema)
            if key in seen:
                problems.append("Provided list of item keys contains duplicates")
            seen.add(key)
    return problems


def _batch_get(request: dict[str, Any], keys_of: KeysOf) -> list[str]:
    problems = []
    tables = request.get("RequestItems") or {}
    count = sum(len(wanted.get("Keys") or []) for wanted in tables.values())
    if count > MAX_BATCH_GET:
        problems.append(f"Too many items requested for the BatchGetItem call ({count} > {MAX_BATCH_GET})")
    for table, wanted in tables.items():
        schema = keys_of(table)
        found = [_key_of(key, schema) for key in wanted.get("Keys") or []]
        if len(set(found)) < len(found):
            problems.append("Provided list of item keys contains duplicates")
        problems += _expressions(wanted)
    return problems


_TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "GetItem"}


def _transaction(request: dict[str, Any], keys_of: KeysOf) -> list[str]:
    problems = []
    parts = request.get("TransactItems") or []
    if len(parts) > MAX_TRANSACTION_ACTIONS:
        problems.append(f"Member must have length less than or equal to {MAX_TRANSACTION_ACTIONS}")
    seen: set[tuple[str, str]] = set()
    for wrapper in parts:
        for kind, part in wrapper.items():
            problems += _single(_TRANSACTION_ACTIONS.get(kind, kind), part, keys_of)
            table = part.get("TableName", "")
            key = (table, _key_of(part.get("Key") or part.get("Item") or {}, keys_of(table)))
            if key in seen:
                problems.append("Transaction request cannot include multiple operations on one item")
            seen.add(key)
    return problems


def _is_global_index(request: dict[str, Any], keys_of: KeysOf) -> bool:
    schema = keys_of(request.get("TableName", ""))
    return schema is not None and request["IndexName"] in schema.global_indexes


# ---- moto integration ------------------------------------------------------------------------------------

REFUSED: list[str] = []
_refused_lock = threading.Lock()
_installed = False


def _moto_keys(backend: Any) -> KeysOf:
    def keys_of(table_name: str) -> TableKeys | None:
        try:
            table = backend.get_table(table_name)
        except Exception:  # unknown table: moto answers that itself
            return None
        index_keys = {entry["AttributeName"] for index in [*table.global_indexes, *table.indexes]
                      for entry in index.schema}
        return TableKeys(table.hash_key_attr, table.range_key_attr, frozenset(index_keys),
                         frozenset(index.name for index in table.global_indexes))

    return keys_of


def enforce() -> None:
    """Idempotent: put the check in front of moto's DynamoDB handler for the whole process."""
    global _installed
    if _installed:
        return
    _installed = True
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        action = handler._get_action()
        try:
            request = json.loads(handler.body or "{}") if isinstance(handler.body, (str, bytes)) else {}
        except ValueError:
            request = {}
        problems = refusals(action, request, _moto_keys(handler.dynamodb_backend)) if request else []
        if not problems:
            return original(handler)
        line = f"{LOG_MARK} {action}: {'; '.join(problems)}"
        print(f"ERROR {line}", file=sys.stderr, flush=True)
        with _refused_lock:
            REFUSED.append(line)
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                           "message": problems[0]})
        return 400, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": "ValidationException"}, body

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def take_refused() -> list[str]:
    """The refusals since the last call (the test suite fails on any)."""
    with _refused_lock:
        taken = list(REFUSED)
        REFUSED.clear()
    return taken

"""Schemathesis hooks for `make fuzz`, loaded with SCHEMATHESIS_HOOKS=infra.fuzz.hooks by the runner.

* `no_write_on_error`: a request answered with an error (HTTP status >= 400, or an envelope `code` other than
  200) must leave the table as it was. The table is fingerprinted with a consistent Scan of the local AWS
  endpoint (fine in a test harness, never in the app) before every call and, for error answers, after it; the
  two are compared per item, so a failure names the items that were added, removed or changed. The run must use
  one worker, or another request could change the table in between.
* Ids: integers in id-like fields are, for about half of the generated values, replaced by ids that exist in the
  seeded data (users, friend requests, groups, sessions, messages, servers), so routes get past "not found".

* Hostile bodies: every HOSTILE_EVERY-th case with a body is sent, in turn, as JSON nested far deeper than a
  parser's recursion allows, as a urlencoded body of more than 256 fields, or with a lone surrogate (`\ud800`)
  in every string; each must be a clear 1000 that stores nothing, never a 500.

* Known issues (KNOWN_ISSUES below, also listed in tests/fuzz/README.md) are counted and reported instead of
  failing the run, unless FUZZ_STRICT=1.

Configuration comes from the environment the runner sets: FUZZ_AWS_URL, FUZZ_TABLE, FUZZ_IDS (a JSON list),
FUZZ_USER_ID (the fuzzed user),
FUZZ_STATS_FILE (where the counters go at exit, as JSON), FUZZ_STRICT.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import schemathesis

# Bookkeeping that the app writes on purpose while answering an error, so the check ignores these partitions:
# - LIMIT#<scope>#<subject>#<window>: rate-limit counters; a use is counted before the work it guards, whatever
#   the answer (README "Login", "Email codes").
# - EMAILCODE#<email>: every verification-code attempt (/auth/registered, /auth/resetPassword) is counted before
#   the code is compared, so a 1000 answer may follow it; the 5th attempt is the code's last (README "Email codes").
ALLOWED_ON_ERROR_PREFIXES = ("LIMIT#", "EMAILCODE#")
# Not the request's writes at all: what the delivery function writes from the table's stream after earlier requests
# were answered, so it may land while an error is being answered: frames kept for offline users (`PENDING#` items),
# the record of a failed batch (`DELIVERY#…/OWED`), and on a user's connection set (`CONNS`) the kept-frames mark
# and the replay's hold; only the set's connections (`tokens`) are the requests' ($connect, $disconnect, logout).
BACKGROUND_SORT_KEY_PREFIXES = ("PENDING#", "OWED")
CONNECTION_SET_SORT_KEY = "CONNS"
CONNECTION_SET_REQUEST_ATTRIBUTES = ("PK", "SK", "tokens")
HOSTILE_EVERY = 5
NESTING_DEPTH = 20_000  # 40 KB, under the 64 KB body limit; Python's parser gives up after ~1,000 levels
ID_FIELDS = frozenset({"id", "to_id", "group_id", "owner", "serverId", "select_user", "select_user[]", "serverIds",
                       "serverIds[]"})
KEPT_SNAPSHOTS = 64


@dataclass(frozen=True)
class KnownIssue:
    """A failure the run reports but does not fail on: (method, path template, failure codes, HTTP statuses)."""

    key: str
    method: str | None
    path: str | None
    codes: frozenset[str]
    statuses: frozenset[int]
    reason: str
    only_if: Callable[[Any], bool] | None = None  # a further condition on the case

    def matches(self, case: Any, method: str, code: str, status: int) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or self.path == case.operation.path)
                and code in self.codes and status in self.statuses and (self.only_if is None or self.only_if(case)))


KNOWN_ISSUES: tuple[KnownIssue, ...] = ()  # none open; tests/fuzz/README.md lists the ones found and fixed

Snapshot = dict[tuple[str, str], str]

_lock = threading.RLock()
_before: dict[int, Snapshot] = {}  # per thread: the table before the call in flight
_after: OrderedDict[int, tuple[Any, Snapshot, Snapshot]] = OrderedDict()  # id(response) -> (response, before, after)
stats: Counter[str] = Counter()


@atexit.register
def _write_stats() -> None:
    path = os.environ.get("FUZZ_STATS_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dict(stats), file, sort_keys=True)


@cache
def _dynamodb() -> Any:
    session = boto3.session.Session(aws_access_key_id="fuzz", aws_secret_access_key="fuzz", region_name="us-east-1")
    return session.client("dynamodb", endpoint_url=os.environ["FUZZ_AWS_URL"])


@cache
def _known_ids() -> tuple[int, ...]:
    return tuple(sorted({int(value) for value in json.loads(os.environ.get("FUZZ_IDS", "[]"))})) or (1,)


def snapshot() -> Snapshot:
    """(PK, SK) → sha256 of the item, for every item outside the allowed bookkeeping partitions and what the
    delivery writes in the background."""
    started = time.perf_counter()
    items: Snapshot = {}
    paginator = _dynamodb().get_paginator("scan")
    for page in paginator.paginate(TableName=os.environ["FUZZ_TABLE"], ConsistentRead=True):
        for item in page.get("Items", []):
            pk = next(iter(item["PK"].values()))
            if str(pk).startswith(ALLOWED_ON_ERROR_PREFIXES):
                continue
            sk = next(iter(item.get("SK", {"S": ""}).values()))
            if str(sk).startswith(BACKGROUND_SORT_KEY_PREFIXES):
                continue
            if sk == CONNECTION_SET_SORT_KEY:
                if "tokens" not in item:  # only the delivery's mark or hold: no connection of a request's
                    continue
                item = {name: item[name] for name in CONNECTION_SET_REQUEST_ATTRIBUTES}
            digest = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
            items[(str(pk), str(sk))] = digest
    with _lock:
        stats["snapshots"] += 1
        stats["snapshot ms"] += round((time.perf_counter() - started) * 1000)
        stats["items (last snapshot)"] = len(items)
    return items


def fingerprint(items: Snapshot) -> tuple[int, str]:
    """Item count and one hash of all items: the cheap summary printed in failures."""
    whole = hashlib.sha256("".join(f"{k}{v}" for k, v in sorted(items.items())).encode()).hexdigest()
    return len(items), whole[:16]


def is_error(response: Any) -> bool:
    if response.status_code >= 400:
        return True
    try:
        envelope = json.loads(response.content or b"null")
    except ValueError:
        return False
    return isinstance(envelope, dict) and envelope.get("code") != 200


def describe_change(before: Snapshot, after: Snapshot) -> str | None:
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(key for key in before.keys() & after.keys() if before[key] != after[key])
    if not (added or removed or changed):
        return None
    parts = [f"{name}: {', '.join('/'.join(key) for key in keys[:10])}{' ...' if len(keys) > 10 else ''}"
             for name, keys in (("added", added), ("removed", removed), ("changed", changed)) if keys]
    return (f"table fingerprint {fingerprint(before)} -> {fingerprint(after)}; " + "; ".join(parts))


def _replace_ids(value: Any) -> Any:
    known = _known_ids()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return known[(value // 2) % len(known)] if value % 2 == 0 else value
    if isinstance(value, list):
        return [_replace_ids(element) for element in value]
    return value


def _map_ids(container: Any) -> Any:
    if isinstance(container, dict):
        return {name: _replace_ids(value) if name in ID_FIELDS else value for name, value in container.items()}
    return container


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    return _map_ids(path_parameters)


@schemathesis.hook
def map_query(context: Any, query: dict[str, Any]) -> dict[str, Any]:
    return _map_ids(query)


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return _map_ids(body)


def _with_lone_surrogates(body: dict[str, Any]) -> bytes:
    """As JSON text (escaped, so the fuzzer's own validators never hold the unencodable string)."""
    changed = {name: "\ud800" + value if isinstance(value, str) else value for name, value in body.items()}
    return json.dumps(changed or {"name": "\ud800"}).encode()


HOSTILE_SHAPES: tuple[tuple[str, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("deeply nested JSON", "application/json",
     lambda body: b'{"name":' + b"[" * NESTING_DEPTH + b"]" * NESTING_DEPTH + b"}"),
    ("over 256 urlencoded fields", "application/x-www-form-urlencoded",
     lambda body: b"&".join(b"field%d=x" % index for index in range(300))),
    ("lone surrogates", "application/json", _with_lone_surrogates),
)


def make_hostile(case: Any) -> str | None:
    """Every HOSTILE_EVERY-th case with an object body becomes one of HOSTILE_SHAPES, in turn."""
    if not isinstance(case.body, dict):
        return None
    with _lock:
        stats["cases with a body"] += 1
        turn = stats["cases with a body"]
    if turn % HOSTILE_EVERY:
        return None
    name, media_type, build = HOSTILE_SHAPES[(turn // HOSTILE_EVERY) % len(HOSTILE_SHAPES)]
    case.body = build(case.body)
    case.media_type = media_type
    with _lock:
        stats[f"hostile: {name}"] += 1
    return name


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    make_hostile(case)
    _before[threading.get_ident()] = snapshot()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    before = _before.pop(threading.get_ident(), None)
    with _lock:
        stats["calls"] += 1
        stats[f"status {response.status_code}"] += 1
    if before is None or not is_error(response):
        return
    after = snapshot()
    with _lock:
        _after[id(response)] = (response, before, after)
        while len(_after) > KEPT_SNAPSHOTS:
            _after.popitem(last=False)


@schemathesis.check
def no_write_on_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answer (HTTP >= 400 or envelope code != 200) must not change the table."""
    if not is_error(response):
        return None
    with _lock:
        entry = _after.get(id(response))
    if entry is None or entry[0] is not response:
        return None
    change = describe_change(entry[1], entry[2])
    with _lock:
        stats["error answers compared with the table"] += 1
    if change:
        raise AssertionError(f"the request changed data while answering an error: {change}")
    return True


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Known issues are counted (stats "known: <key>") rather than failing the run, unless FUZZ_STRICT=1."""
    method = str(getattr(response.request, "method", None) or case.method).upper()
    for issue in KNOWN_ISSUES:
        if issue.matches(case, method, str(getattr(failure, "code", "")), response.status_code):
            with _lock:
                stats[f"known: {issue.key}"] += 1
            return os.environ.get("FUZZ_STRICT") == "1"
    return True

"""Fault injection: a share of DynamoDB calls answers a throttling error or a transaction conflict.

Off unless `LOCAL_FAULT_DYNAMODB_THROTTLE_RATE` (0..1) is set. Every botocore client the process creates (the
app's boto3 clients and PynamoDB's) gets a `before-send` handler that, for that share of `dynamodb` attempts,
answers a fake HTTP 400 `ProvisionedThroughputExceededException` / `ThrottlingException` without the request
reaching local AWS, exactly what botocore's retry mode sees from a throttled table. By default the last attempt
of a call is spared (`LOCAL_FAULT_DYNAMODB_THROTTLE_LAST_ATTEMPT=0`), so retries absorb every fault; with `1`
a call can run out of attempts and the app has to answer an error. Counts are printed when the process exits.

`LOCAL_FAULT_DYNAMODB_CONFLICT_RATE` (0..1) does what moto never does and real DynamoDB does whenever two writers
meet on an item: that share of TransactWriteItems calls is cancelled (`TransactionCanceledException` whose
CancellationReasons name one item `TransactionConflict`, the others `None`), and that share of single-item
conditional writes (PutItem/UpdateItem/DeleteItem with a ConditionExpression) fails with
`TransactionConflictException`; nothing reaches local AWS. Botocore does not retry either, so the app's own
conflict handling (chalicelib/db/conflicts.py) has to. The in-process tests use the same class through the
`dynamodb_conflicts` fixture (tests/conftest.py).
"""
from __future__ import annotations

import atexit
import json
import os
import random
import re
import threading
from collections.abc import Iterator
from typing import Any

RATE_VARIABLE = "LOCAL_FAULT_DYNAMODB_THROTTLE_RATE"
CONFLICT_RATE_VARIABLE = "LOCAL_FAULT_DYNAMODB_CONFLICT_RATE"
SINGLE_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
LAST_ATTEMPT_VARIABLE = "LOCAL_FAULT_DYNAMODB_THROTTLE_LAST_ATTEMPT"
ERROR_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")
_ATTEMPT = re.compile(r"attempt=(\d+).*max=(\d+)")


class _Body:
    """The raw body botocore reads an AWSResponse through."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class ThrottleFaults:
    def __init__(self, rate: float, last_attempt: bool, seed: int | None = None) -> None:
        self.rate = rate
        self.last_attempt = last_attempt
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.calls = 0
        self.throttled = 0
        self.throttled_last = 0
        self.gone = 0  # PostToConnection answers 410: stale connection ids (not injected here, only counted)

    def before_send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        attempt, maximum = _attempt(request)
        final = attempt >= maximum
        with self._lock:
            self.calls += 1
            if (final and not self.last_attempt) or self._random.random() >= self.rate:
                return None
            self.throttled += 1
            self.throttled_last += final
            code = self._random.choice(ERROR_CODES)
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                           "message": "injected by infra/local/faults.py"}).encode()
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0",
                   "Content-Length": str(len(body))}
        return AWSResponse(request.url, 400, headers, _Body(body))

    def after_post(self, http_response: Any, **_: Any) -> None:
        if getattr(http_response, "status_code", 0) == 410:
            with self._lock:
                self.gone += 1

    def summary(self) -> str:
        return (f"faults: dynamodb attempts={self.calls} throttled={self.throttled} "
                f"throttled_last_attempt={self.throttled_last} rate={self.rate} gone_410={self.gone}")


class ConflictFaults:
    """Cancels that share of DynamoDB transactions and conditional single-item writes as conflicts.

    `pending` forces the next N eligible writes to conflict whatever the rate (what a test needs for "a conflict
    once, then success"); `rate` 1.0 makes every one conflict.
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, *, every_write: bool = False) -> None:
        self.rate = rate
        self.pending = 0
        self.every_write = every_write  # unconditional single-item writes too (they meet transactions as well)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.eligible = 0
        self.cancelled = 0
        self.failed_single = 0

    def error_for(self, operation: str, params: dict[str, Any]) -> Any:
        """The ClientError DynamoDB would answer, or None to let the call through."""
        from botocore.exceptions import ClientError

        transaction = operation == "TransactWriteItems"
        if not transaction and not (operation in SINGLE_ITEM_WRITES
                                    and (self.every_write or params.get("ConditionExpression"))):
            return None
        with self._lock:
            self.eligible += 1
            if self.pending > 0:
                self.pending -= 1
            elif self._random.random() >= self.rate:
                return None
            if transaction:
                self.cancelled += 1
                parts = len(params.get("TransactItems") or [None])
                victim = self._random.randrange(parts)
        if not transaction:
            with self._lock:
                self.failed_single += 1
            return ClientError({"Error": {"Code": "TransactionConflictException",
                                          "Message": "Transaction is ongoing for the item (injected)"}}, operation)
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item (injected)"}
                   if index == victim else {"Code": "None"} for index in range(parts)]
        codes = ", ".join(reason["Code"] for reason in reasons)
        return ClientError({"Error": {"Code": "TransactionCanceledException",
                                      "Message": f"Transaction cancelled, please refer cancellation reasons for "
                                                 f"specific reasons [{codes}]"},
                            "CancellationReasons": reasons}, operation)

    def summary(self) -> str:
        return (f"conflicts: eligible={self.eligible} transactions_cancelled={self.cancelled} "
                f"single_writes_failed={self.failed_single} rate={self.rate}")


def conflicting_api_call(faults: ConflictFaults, original: Any) -> Any:
    """A replacement for botocore's BaseClient._make_api_call that consults `faults` for DynamoDB calls."""

    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            error = faults.error_for(operation_name, api_params)
            if error is not None:
                raise error
        return original(client, operation_name, api_params)

    return _make_api_call


def _attempt(request: Any) -> tuple[int, int]:
    header = request.headers.get("amz-sdk-request") or ""
    if isinstance(header, bytes):
        header = header.decode("ascii", "replace")
    found = _ATTEMPT.search(header)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)


def install(faults: ThrottleFaults) -> None:
    """Hooks every botocore client created from now on (boto3 and PynamoDB both go through Session)."""
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("before-send.dynamodb", faults.before_send)
        elif service_name == "apigatewaymanagementapi":
            client.meta.events.register("after-call.apigatewaymanagementapi.PostToConnection", faults.after_post)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    atexit.register(lambda: print(faults.summary(), flush=True))


def install_conflicts(faults: ConflictFaults) -> None:
    import botocore.client

    botocore.client.BaseClient._make_api_call = conflicting_api_call(  # type: ignore[method-assign]
        faults, botocore.client.BaseClient._make_api_call)
    atexit.register(lambda: print(faults.summary(), flush=True))


def install_from_env(environ: dict[str, str] | None = None) -> tuple[ThrottleFaults | None, ConflictFaults | None]:
    environ = dict(os.environ) if environ is None else environ
    rate = float(environ.get(RATE_VARIABLE) or 0)
    throttles = conflicts = None
    if rate > 0:
        throttles = ThrottleFaults(min(rate, 1.0), environ.get(LAST_ATTEMPT_VARIABLE, "0") == "1")
        install(throttles)
        print(f"fault injection on: {RATE_VARIABLE}={throttles.rate} last_attempt={throttles.last_attempt}",
              flush=True)
    conflict_rate = float(environ.get(CONFLICT_RATE_VARIABLE) or 0)
    if conflict_rate > 0:
        conflicts = ConflictFaults(min(conflict_rate, 1.0))
        install_conflicts(conflicts)
        print(f"fault injection on: {CONFLICT_RATE_VARIABLE}={conflicts.rate}", flush=True)
    return throttles, conflicts


KILL_RATE_VARIABLE = "LOCAL_FAULT_DELIVERY_KILL_RATE"


class DeliveryKilled(Exception):
    """The delivery function died (a timeout, out of memory, a lost instance) in the middle of a batch."""


class DeliveryKills:
    """Kills the delivery handler mid-batch at `rate`: the records before a random point are delivered, then it
    dies, so its mapping retries the whole batch (the delivered records are pushed again, with the same ids)."""

    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self.killed = 0
        self.pushed_before_kills: set[str] = set()  # `_message_key`s of the records a killed batch handled
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def wrap(self, handler: Any) -> Any:
        def dying_handler(event: dict[str, Any], context: Any) -> Any:
            records = event.get("Records") or []
            with self._lock:
                kill = self._random.random() < self.rate
                cut = self._random.randrange(len(records)) if kill and records else 0
            if not kill:
                return handler(event, context)
            handler({**event, "Records": records[:cut]}, context)
            with self._lock:
                self.killed += 1
                self.pushed_before_kills.update(filter(None, map(_message_key, records[:cut])))
            raise DeliveryKilled(f"delivery handler killed after {cut} of {len(records)} records")

        return dying_handler


def _message_key(record: dict[str, Any]) -> str:
    """`send:<PK>:<seq>` for a send's write of its head (the message's chat frame), `change:<PK>:<seq>` for a change
    to a stored message (a recall, an edit); "" for records that carry no message."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    kind = (image.get("T") or {}).get("S")
    if kind == "Conversation" and (image.get("fresh") or {}).get("BOOL"):
        return f"send:{image['PK']['S']}:{image['last_seq']['N']}"
    if kind == "Message" and record.get("eventName") == "MODIFY":
        return f"change:{image['PK']['S']}:{image['seq']['N']}"
    return ""


def delivery_kills_from_env(environ: dict[str, str] | None = None) -> DeliveryKills | None:
    rate = float((os.environ if environ is None else environ).get(KILL_RATE_VARIABLE) or 0)
    if rate <= 0:
        return None
    print(f"fault injection on: {KILL_RATE_VARIABLE}={rate}", flush=True)
    return DeliveryKills(min(rate, 1.0))


POST_FAIL_RATE_VARIABLE = "LOCAL_FAULT_WS_POST_FAIL_RATE"


class PostFailures:
    """That share of `@connections` posts answers HTTP 500 (`InternalServerErrorException`) without reaching the
    socket, every attempt of it: a post is one call of the app's client, which botocore retries under the same
    `amz-sdk-invocation-id`, so the app sees the failure, as when API Gateway keeps failing."""

    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self.posts = 0
        self.failed = 0
        self._failing: set[str] = set()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def fails(self, invocation_id: str) -> bool:
        with self._lock:
            if invocation_id and invocation_id in self._failing:
                return True
            self.posts += 1
            if self._random.random() >= self.rate:
                return False
            self.failed += 1
            if invocation_id:
                self._failing.add(invocation_id)
            return True

    def summary(self) -> str:
        return f"post failures: posts={self.posts} failed_500={self.failed} rate={self.rate}"


def post_failures_from_env(environ: dict[str, str] | None = None) -> PostFailures | None:
    rate = float((os.environ if environ is None else environ).get(POST_FAIL_RATE_VARIABLE) or 0)
    if rate <= 0:
        return None
    failures = PostFailures(min(rate, 1.0))
    print(f"fault injection on: {POST_FAIL_RATE_VARIABLE}={failures.rate}", flush=True)
    atexit.register(lambda: print(failures.summary(), flush=True))
    return failures

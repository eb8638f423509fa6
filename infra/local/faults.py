"""Fault injection for load tests: a share of DynamoDB calls answers a throttling error (local stack only).

Off unless `LOCAL_FAULT_DYNAMODB_THROTTLE_RATE` (0..1) is set. Every botocore client the process creates (the
app's boto3 clients and PynamoDB's) gets a `before-send` handler that, for that share of `dynamodb` attempts,
answers a fake HTTP 400 `ProvisionedThroughputExceededException` / `ThrottlingException` without the request
reaching local AWS, exactly what botocore's retry mode sees from a throttled table. By default the last attempt
of a call is spared (`LOCAL_FAULT_DYNAMODB_THROTTLE_LAST_ATTEMPT=0`), so retries absorb every fault; with `1`
a call can run out of attempts and the app has to answer an error. Counts are printed when the process exits.
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


def install_from_env(environ: dict[str, str] | None = None) -> ThrottleFaults | None:
    environ = dict(os.environ) if environ is None else environ
    rate = float(environ.get(RATE_VARIABLE) or 0)
    if rate <= 0:
        return None
    faults = ThrottleFaults(min(rate, 1.0), environ.get(LAST_ATTEMPT_VARIABLE, "0") == "1")
    install(faults)
    print(f"fault injection on: {RATE_VARIABLE}={faults.rate} last_attempt={faults.last_attempt}", flush=True)
    return faults

"""Counting AWS calls by wrapping botocore's one choke point (sees boto3 and PynamoDB alike)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from botocore.client import BaseClient

_uncounted: ContextVar[bool] = ContextVar("uncounted", default=False)


@contextmanager
def uncounted() -> Iterator[None]:
    """Calls made inside are not the request's (the test pump reading the stream and delivering)."""
    token = _uncounted.set(True)
    try:
        yield
    finally:
        _uncounted.reset(token)


class CallLog:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.scanned: int = 0
        self._lock = threading.Lock()

    def record(self, name: str, response: Any) -> None:
        with self._lock:
            self.calls[name] += 1
            if isinstance(response, dict):
                self.scanned += int(response.get("ScannedCount", 0))
                for items in (response.get("Responses") or {}).values():
                    if isinstance(items, list):
                        self.scanned += len(items)
                if "Item" in response:
                    self.scanned += 1

    def count(self, prefix: str = "") -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(prefix))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.scanned = 0


@contextmanager
def counting_aws_calls() -> Iterator[CallLog]:
    log = CallLog()
    original = BaseClient._make_api_call

    def wrapped(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        response: Any = None
        try:
            response = original(self, operation_name, api_params)
            return response
        finally:  # a call that fails (a condition, a throttle) costs a request too
            if not _uncounted.get():
                log.record(f"{self.meta.service_model.service_name}.{operation_name}", response)

    BaseClient._make_api_call = wrapped  # type: ignore[method-assign]
    try:
        yield log
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]

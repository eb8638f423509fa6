"""Lazily created, cached boto3 clients with explicit timeouts and retries. Nothing happens at import."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from chalicelib.config import get_settings
from chalicelib.metrics import watch_client

_clients: dict[tuple[str, str, str, int], Any] = {}
_session: Any = None  # one boto3 session: its loader parses each service's model and the endpoint rules once
_lock = threading.Lock()


def client(service: str, endpoint_url: str = "") -> Any:
    """One client per service and endpoint, made for the settings' region and pool size (a change of settings, as
    tests make between cases, gets a client made for the new ones)."""
    settings = get_settings()
    key = (service, endpoint_url, settings.region, settings.fanout_workers)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _clients.get(key)
        if cached is None:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=2,
                read_timeout=5,
                retries={"mode": "standard", "max_attempts": 3},
                # the fan-out's posts and the delivery's conversations at once keep their connections
                max_pool_connections=settings.fanout_workers + 16,
                signature_version="s3v4" if service == "s3" else None,
            )
            kwargs: dict[str, Any] = {"region_name": settings.region, "config": config}
            if endpoint_url:
                kwargs["endpoint_url"] = endpoint_url
            global _session
            if _session is None:
                _session = boto3.session.Session()
            cached = _session.client(service, **kwargs)
            watch_client(cached)
            _clients[key] = cached
    return cached


# What AWS answers when a table, account or API is over its throughput: worth retrying a little later.
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
                              "RequestLimitExceeded", "TooManyRequestsException", "ThrottlingError"})
# What DynamoDB answers when another transaction holds an item at the same moment (as an error of a single-item
# write, or as a cancellation reason of a transaction): nothing was written, the same request may succeed later.
CONFLICT_CODES = frozenset({"TransactionConflict", "TransactionConflictException", "TransactionInProgressException"})


class Busy(Exception):
    """Contention (throttling or transaction conflicts) outlasted the app's retries; nothing was written."""


def _codes(error: BaseException) -> Iterator[str]:
    """Error codes of an AWS failure and of its causes (PynamoDB wraps botocore's errors as `cause`), with the
    cancellation reasons of a transaction."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            yield str(response.get("Error", {}).get("Code") or "")
        for reason in getattr(current, "cancellation_reasons", None) or []:
            if reason is not None:
                yield reason.code
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__


def is_throttling(error: BaseException) -> bool:
    """True when an AWS call ran out of retries against throttling, including a transaction cancelled for a
    throttled item."""
    return any(code in THROTTLING_CODES for code in _codes(error))


def is_conflict(error: BaseException) -> bool:
    """True when a write met another transaction on one of its items (and so wrote nothing)."""
    return any(code in CONFLICT_CODES for code in _codes(error))


def is_busy(error: BaseException) -> bool:
    """The answer is "retry shortly" (HTTP 503 with Retry-After): throttling, or conflicts beyond our retries."""
    chain: BaseException | None = error
    while chain is not None:
        if isinstance(chain, Busy):
            return True
        chain = chain.__cause__
    return is_throttling(error) or is_conflict(error)

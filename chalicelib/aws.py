"""Lazily created, cached boto3 clients with explicit timeouts and retries. Nothing happens at import."""
from __future__ import annotations

import threading
from typing import Any

from chalicelib.metrics import watch_client

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def client(service: str, endpoint_url: str = "") -> Any:
    key = (service, endpoint_url)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _clients.get(key)
        if cached is None:
            import boto3
            from botocore.config import Config

            from chalicelib.config import get_settings

            settings = get_settings()
            config = Config(
                connect_timeout=2,
                read_timeout=5,
                retries={"mode": "standard", "max_attempts": 3},
                max_pool_connections=max(10, settings.fanout_workers),
                signature_version="s3v4" if service == "s3" else None,
            )
            kwargs: dict[str, Any] = {"region_name": settings.region, "config": config}
            if endpoint_url:
                kwargs["endpoint_url"] = endpoint_url
            cached = boto3.session.Session().client(service, **kwargs)
            watch_client(cached)
            _clients[key] = cached
    return cached


def reset_clients() -> None:
    with _lock:
        _clients.clear()


# What AWS answers when a table, account or API is over its throughput: worth retrying a little later.
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
                              "RequestLimitExceeded", "TooManyRequestsException", "ThrottlingError"})


def is_throttling(error: BaseException) -> bool:
    """True when an AWS call (boto3 or PynamoDB, whose errors wrap botocore's as `cause`) ran out of retries
    against throttling, including a transaction cancelled for a throttled item."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in THROTTLING_CODES:
            return True
        reasons = getattr(current, "cancellation_reasons", None) or []
        if any(reason is not None and reason.code in THROTTLING_CODES for reason in reasons):
            return True
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return False

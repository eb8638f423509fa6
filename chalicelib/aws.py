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

"""Fakes for the seams the code offers (no patching of our own modules)."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.realtime.sender import ConnectionGone


def throttled(*_: Any, **__: Any) -> None:
    """Stands in for an AWS call whose throttling outlasted botocore's retries."""
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "AnyOperation")


class RecordingSender:
    """Stands in for the API Gateway management API: records frames, can play gone, failing or slow connections."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.failing: dict[str, int] = {}  # connection id → how many of its next posts fail (API Gateway's 500)
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        with self._lock:
            if self.failing.get(connection_id, 0) > 0:
                self.failing[connection_id] -= 1
                raise ClientError({"Error": {"Code": "InternalServerErrorException", "Message": "500"}},
                                  "PostToConnection")
            self.sent.append((connection_id, json.loads(data)))

    def close(self, connection_id: str) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        with self._lock:
            self.closed.append(connection_id)
        self.gone.add(connection_id)

    def frames_for(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [frame for target, frame in self.sent if target == connection_id]

    def forget(self, connection_id: str) -> None:
        """Sets aside what a connection received so far (a test checks what comes after)."""
        with self._lock:
            self.sent = [(target, frame) for target, frame in self.sent if target != connection_id]

"""AWS calls per request, for the log line: boto3 clients report through their event hooks, PynamoDB
through its blinker signals. Counts follow the request's context, into the fan-out threads too."""
from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from typing import Any


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


_current: ContextVar[_Counter | None] = ContextVar("aws_calls", default=None)
_pynamodb_watched = False


def record(*_args: Any, **_kwargs: Any) -> None:
    counter = _current.get()
    if counter is not None:
        counter.add()


def watch_client(client: Any) -> None:
    client.meta.events.register("before-call", record)


def _watch_pynamodb() -> None:
    global _pynamodb_watched
    if not _pynamodb_watched:
        from pynamodb.signals import pre_dynamodb_send, signals_available

        if signals_available:
            pre_dynamodb_send.connect(record, weak=False)
        _pynamodb_watched = True


def begin() -> Token[_Counter | None]:
    _watch_pynamodb()
    return _current.set(_Counter())


def end(token: Token[_Counter | None]) -> int:
    counter = _current.get()
    _current.reset(token)
    return counter.value if counter else 0

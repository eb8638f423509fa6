"""One structured JSON line per request or WebSocket event. Never pass secrets or message text here."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger: logging.Logger | None = None


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (Lambda ships stdout to CloudWatch Logs)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stdout

    @stream.setter
    def stream(self, _value):  # type: ignore[no-untyped-def]
        pass


def _get_logger() -> logging.Logger:
    global _logger
    if _logger is None:
        logger = logging.getLogger("philatelic")
        if not logger.handlers:
            handler = _StdoutHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        _logger = logger
    return _logger


def log_event(**fields: Any) -> None:
    _get_logger().info(json.dumps(fields, ensure_ascii=False, default=str, separators=(",", ":")))


def log_exception(context: str, **fields: Any) -> None:
    """Records an unexpected failure with its traceback for operators; clients never see it."""
    _get_logger().exception(json.dumps({"error": context, **fields}, default=str, separators=(",", ":")))

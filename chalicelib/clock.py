"""Time in one place: unix seconds for storage, origin-style datetime strings for the wire."""
from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


def now() -> float:
    return time.time()


def now_ms() -> int:
    return int(time.time() * 1000)


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_datetime(epoch_seconds: float, zone: str) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the configured zone, as the web client parses it."""
    if not epoch_seconds:
        return ""
    return datetime.fromtimestamp(epoch_seconds, _zone(zone)).strftime("%Y-%m-%d %H:%M:%S")


def wire_time(epoch_seconds: float) -> str:
    from chalicelib.config import get_settings

    return format_datetime(epoch_seconds, get_settings().time_zone)

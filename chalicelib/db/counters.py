"""Atomic counters for the numeric ids the web client compares (users, groups, sessions, records…)."""
from __future__ import annotations

from chalicelib.db import keys
from chalicelib.db.models import Counter, tag

COUNTER_SK = "COUNTER"


def next_value(kind: str) -> int:
    counter = Counter(keys.counter_pk(kind), COUNTER_SK)
    counter.update(actions=[tag(Counter), Counter.value.add(1)])
    return int(counter.value)

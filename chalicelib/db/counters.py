"""Atomic counters for the numeric ids the web client compares (users, records, sessions, groups…)."""
from __future__ import annotations

from chalicelib.db import conflicts, keys
from chalicelib.db.models import Counter, tag

COUNTER_SK = "COUNTER"


@conflicts.retrying()
def next_range(kind: str, count: int) -> list[int]:
    """`count` fresh consecutive ids in one atomic update."""
    counter = Counter(keys.counter_pk(kind), COUNTER_SK)
    counter.update(actions=[tag(Counter), Counter.value.add(count)])
    last = int(counter.value)
    return list(range(last - count + 1, last + 1))


def next_value(kind: str) -> int:
    return next_range(kind, 1)[0]

"""Which stream records reach the delivery function: the event source mapping's filters in the cloud
(infra/stacks/philatelic_stack.py) and the same test in the local stream reader (infra/local/stream_reader.py), so a
record the cloud drops is dropped locally too. Only writes that make frames pass (chalicelib/realtime/delivery.py's
PRODUCERS; tests hold the two equal): a send's write of its conversation head (`fresh`), a change to a stored
message, reactions and outbox items. The connection, kept-frame, counter and session writes of every request, and
the first write of a message's history item, would otherwise invoke the function."""
from __future__ import annotations

from typing import Any

# A record passes when it matches any one of them (the mapping ORs its filters).
PATTERNS: list[dict[str, Any]] = [
    {"eventName": ["INSERT", "MODIFY"],
     "dynamodb": {"NewImage": {"T": {"S": ["Conversation"]}, "fresh": {"BOOL": [True]}}}},
    {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"T": {"S": ["Message"]}}}},
    {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"T": {"S": ["Outbox", "Reactions"]}}}},
]
DELIVERED_ITEM_TYPES = tuple(kind for pattern in PATTERNS for kind in pattern["dynamodb"]["NewImage"]["T"]["S"])


def passes(record: dict[str, Any]) -> bool:
    """What PATTERNS match: a stream record (GetRecords or Lambda shape) one of them describes."""
    return any(_matches(pattern, record) for pattern in PATTERNS)


def _matches(pattern: Any, value: Any) -> bool:
    """A pattern's object matches an object holding each of its keys matched; a list of values, one of them."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches(wanted, value.get(key)) for key, wanted in pattern.items())
    return value in pattern

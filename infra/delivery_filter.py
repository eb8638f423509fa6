"""Which stream records reach the delivery function: the event source mapping's filter in the cloud
(infra/stacks/philatelic_stack.py) and the same test in the local stream reader (infra/local/stream_reader.py), so a
record the cloud drops is dropped locally too. Only items that make frames pass (chalicelib/realtime/delivery.py's
PRODUCERS; tests hold the two equal): the connection, kept-frame, counter and session writes of every request
would otherwise invoke the function."""
from __future__ import annotations

from typing import Any

DELIVERED_EVENTS = ("INSERT", "MODIFY")
DELIVERED_ITEM_TYPES = ("Message", "Outbox", "Reactions")
PATTERN = {"eventName": list(DELIVERED_EVENTS), "dynamodb": {"NewImage": {"T": {"S": list(DELIVERED_ITEM_TYPES)}}}}


def passes(record: dict[str, Any]) -> bool:
    """What PATTERN matches: a stream record (GetRecords or Lambda shape) of a delivered event and item type."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return record.get("eventName") in DELIVERED_EVENTS and (image.get("T") or {}).get("S") in DELIVERED_ITEM_TYPES

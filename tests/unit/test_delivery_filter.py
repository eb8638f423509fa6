"""The stream filter (infra/delivery_filter.py) passes exactly the item types the delivery function makes frames
from, and the local reader drops what the cloud's mapping drops: a producer missing from the filter would work
locally and never be pushed in the cloud."""
from __future__ import annotations

from typing import Any

from chalicelib.realtime import delivery
from infra import delivery_filter
from infra.local.stream_reader import StreamReader
from tests.unit.test_local_delivery_faults import OneShard


def stream_record(sequence: str, event_name: str, item_type: str) -> dict[str, Any]:
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": sequence, "NewImage": {"T": {"S": item_type}}}}


def test_the_filter_passes_every_item_type_delivery_makes_frames_from() -> None:
    assert set(delivery_filter.DELIVERED_ITEM_TYPES) == set(delivery.PRODUCERS)
    types = list(delivery_filter.DELIVERED_ITEM_TYPES)
    assert delivery_filter.PATTERN == {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"T": {"S": types}}}}


def test_the_local_reader_hands_over_only_what_the_filter_passes() -> None:
    records = [stream_record("1", "INSERT", "Message"), stream_record("2", "INSERT", "Connection"),
               stream_record("3", "MODIFY", "Reactions"), stream_record("4", "REMOVE", "Message"),
               {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "5"}}, stream_record("6", "INSERT", "Outbox")]
    seen: list[str] = []
    reader = StreamReader(OneShard(records), "arn",
                          lambda event, _: seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"]))
    assert reader.poll() == 6
    assert seen == ["1", "3", "6"]

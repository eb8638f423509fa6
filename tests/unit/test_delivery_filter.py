"""The stream filter (infra/delivery_filter.py) passes exactly the item types the delivery function makes frames
from, and the local reader drops what the cloud's mapping drops: a producer missing from the filter would work
locally and never be pushed in the cloud."""
from __future__ import annotations

from typing import Any

from chalicelib.realtime import delivery
from infra import delivery_filter
from infra.local.stream_reader import StreamReader
from tests.unit.test_local_delivery_faults import OneShard


def stream_record(sequence: str, event_name: str, item_type: str, **attributes: Any) -> dict[str, Any]:
    return {"eventName": event_name,
            "dynamodb": {"SequenceNumber": sequence, "NewImage": {"T": {"S": item_type}, **attributes}}}


def test_the_filter_passes_every_item_type_delivery_makes_frames_from() -> None:
    assert set(delivery_filter.DELIVERED_ITEM_TYPES) == set(delivery.PRODUCERS)


def test_a_head_passes_only_as_a_send_wrote_it_and_a_message_only_when_changed() -> None:
    assert delivery_filter.passes(stream_record("1", "MODIFY", "Conversation", fresh={"BOOL": True}))
    assert delivery_filter.passes(stream_record("2", "INSERT", "Conversation", fresh={"BOOL": True}))
    assert not delivery_filter.passes(stream_record("3", "MODIFY", "Conversation"))  # a block, a recall's preview
    assert not delivery_filter.passes(stream_record("4", "MODIFY", "Conversation", fresh={"BOOL": False}))
    assert not delivery_filter.passes(stream_record("5", "INSERT", "Message"))  # the history item's first write
    assert delivery_filter.passes(stream_record("6", "MODIFY", "Message"))  # a recall, an edit
    assert not delivery_filter.passes(stream_record("7", "REMOVE", "Reactions"))


def test_the_local_reader_hands_over_only_what_the_filter_passes() -> None:
    records = [stream_record("1", "INSERT", "Conversation", fresh={"BOOL": True}),
               stream_record("2", "INSERT", "Connection"), stream_record("3", "MODIFY", "Reactions"),
               stream_record("4", "REMOVE", "Message"), {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "5"}},
               stream_record("6", "INSERT", "Outbox"), stream_record("7", "INSERT", "Message")]
    seen: list[str] = []
    reader = StreamReader(OneShard(records), "arn",
                          lambda event, _: seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"]))
    assert reader.poll() == 7
    assert seen == ["1", "3", "6"]

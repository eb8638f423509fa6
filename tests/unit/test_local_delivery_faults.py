"""The local stack's delivery knobs: the stream read `lag_seconds` behind its writes, `@connections` posts failing
with 500 (every retry of one call), and which repeats `make load` explains by a killed batch."""
from __future__ import annotations

import datetime
import time
from typing import Any

from infra.load.verify import Findings, _count_repeats
from infra.local.faults import PostFailures
from infra.local.stream_reader import StreamReader


class OneShard:
    """DynamoDB Streams with one shard holding `records`, all returned by the first GetRecords."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it-0"}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        records, self.records = self.records, []
        return {"Records": records, "NextShardIterator": ShardIterator}


def record(sequence: str, seconds_ago: float) -> dict[str, Any]:
    written = datetime.datetime.fromtimestamp(time.time() - seconds_ago, datetime.UTC)
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence, "ApproximateCreationDateTime": written,
                                                "NewImage": {"T": {"S": "Outbox"}}}}


def test_a_lagging_reader_hands_over_only_records_written_that_long_ago() -> None:
    seen: list[str] = []
    reader = StreamReader(OneShard([record("1", 40), record("2", 31), record("3", 5)]), "arn",
                          lambda event, _: seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"]),
                          lag_seconds=30)
    reader.poll()
    assert seen == ["1", "2"]
    reader.lag_seconds = 0
    reader.poll()
    assert seen == ["1", "2", "3"]


def test_a_failing_post_fails_on_every_retry_of_the_same_call() -> None:
    always = PostFailures(1.0)
    assert always.fails("call-1") and always.fails("call-1")
    assert (always.posts, always.failed) == (1, 1)  # one post, retried
    never = PostFailures(0.0)
    assert not never.fails("call-2") and never.posts == 1


def test_a_repeat_is_explained_only_by_a_killed_batch_that_handled_its_record() -> None:
    found = Findings()
    killed = frozenset({"send:CONV#P#1#2:3"})
    _count_repeats(found, killed, "send:CONV#P#1#2:3", 1, "", "a killed batch pushed it")
    _count_repeats(found, killed, "send:CONV#P#1#2:4", 1, "", "nothing explains it")
    _count_repeats(found, None, "send:CONV#P#1#2:3", 1, "", "no delivery line")
    assert (found.redelivered, found.duplicated) == (1, 2)

"""The table's DynamoDB stream read the way Lambda's event source mapping reads it, calling the real handler.

Per shard, the records the mapping's filter passes (infra/delivery_filter.py) go to the handler in stream order,
in batches of at most `batch_size`, as Lambda-shaped events.
The handler's `batchItemFailures` checkpoint the batch before the first failed record, which is retried with
everything after it at the next poll (Lambda's backoff); a handler that dies (raises) fails the whole batch, which is
bisected at once; a record that fails `max_retries` + 1 times goes to `dead_letters` (the on-failure destination)
and its shard moves on. With `lag_seconds`, a record reaches the handler only that long after it was written (its
`ApproximateCreationDateTime`): the delivery runs that far behind, as a large iterator age does in the cloud.
Used by the local stack (a polling thread) and by the in-process tests (drained after each request).
"""
from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra import delivery_filter

Handler = Callable[[dict[str, Any], Any], Any]
PAGE_SIZE = 1000  # GetRecords' most
DISCOVER_SECONDS = 1.0  # new shards (a split, a rollover) are looked for at most this often
logger = logging.getLogger(__name__)


@dataclass
class _Shard:
    iterator: str | None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    limit: int = 0


class StreamReader:
    def __init__(self, streams: Any, stream_arn: str, handler: Handler, *, batch_size: int = 100,
                 max_retries: int = 10, start_at: str = "TRIM_HORIZON", lag_seconds: float = 0,
                 passes: Callable[[dict[str, Any]], bool] = delivery_filter.passes) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._handler = handler
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._start_at = start_at
        self.lag_seconds = lag_seconds
        self._passes = passes
        self._shards: dict[str, _Shard] = {}
        self.dead_letters: list[dict[str, Any]] = []
        self.invocations = 0
        self._discovered_at = -DISCOVER_SECONDS

    def _discover(self) -> None:
        for shard in self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard_id,
                                                            ShardIteratorType=self._start_at)["ShardIterator"]
                self._shards[shard_id] = _Shard(iterator, limit=self._batch_size)

    def poll(self) -> int:
        """One pass: read what is new in every shard and hand all of it to the handler. Returns records read."""
        if time.monotonic() - self._discovered_at >= DISCOVER_SECONDS:
            self._discover()
            self._discovered_at = time.monotonic()
        read = 0
        for shard in self._shards.values():
            while shard.iterator is not None:
                page = self._streams.get_records(ShardIterator=shard.iterator, Limit=PAGE_SIZE)
                shard.iterator = page.get("NextShardIterator")
                shard.backlog.extend(lambda_record(record, self._arn) for record in page["Records"]
                                     if self._passes(record))
                read += len(page["Records"])
                if len(page["Records"]) < PAGE_SIZE:  # the shard's end: what comes next is read at the next poll
                    break
            self._drain(shard)
        return read

    def retry_waiting(self) -> bool:
        """A batch failed and is left for the next poll (Lambda retries it after a pause)."""
        return any(shard.backlog for shard in self._shards.values())

    def _drain(self, shard: _Shard) -> None:
        while shard.backlog:
            batch = self._due(shard.backlog[:shard.limit])
            if not batch:
                return  # the next record is not due yet
            self.invocations += 1
            try:
                answer = self._handler({"Records": batch}, None)
            except Exception:  # the function died: nothing of this batch is known to be done
                logger.warning("delivery handler died on a batch of %d; retrying", len(batch), exc_info=True)
                if len(batch) > 1:
                    shard.limit = max(1, len(batch) // 2)  # bisect on error (not counted as a retry)
                    continue
                failed_at = 0
            else:
                failed_at = _first_failure(batch, answer)
            del shard.backlog[:failed_at]
            if failed_at == len(batch):
                shard.attempts, shard.limit = 0, self._batch_size
                continue
            shard.attempts = 1 if failed_at else shard.attempts + 1
            if shard.attempts <= self._max_retries:
                return  # retried at the next poll
            self.dead_letters.append(shard.backlog.pop(0))
            logger.error("a stream record failed %d times; sent to the dead letters", shard.attempts)
            shard.attempts = 0


    def _due(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The leading records written at least `lag_seconds` ago."""
        if not self.lag_seconds:
            return records
        written_before = time.time() - self.lag_seconds
        due = 0
        while due < len(records) and float(records[due]["dynamodb"].get("ApproximateCreationDateTime") or 0) \
                <= written_before:
            due += 1
        return records[:due]


def _first_failure(batch: list[dict[str, Any]], answer: Any) -> int:
    """Index of the first record reported failed; a malformed answer fails the whole batch, as in Lambda."""
    if answer is None:
        return len(batch)
    try:
        failed = {str(item["itemIdentifier"]) for item in answer.get("batchItemFailures") or []}
    except (AttributeError, KeyError, TypeError):
        return 0
    positions = [index for index, record in enumerate(batch) if record["dynamodb"]["SequenceNumber"] in failed]
    if failed and not positions:
        return 0
    return min(positions, default=len(batch))


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda passes it: creation time in epoch seconds, the stream's ARN added."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime.datetime):
        stream["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": stream, "eventSourceARN": stream_arn}

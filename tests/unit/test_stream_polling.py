"""The local delivery's polling: like the event source mapping, it reads a shard again at once while records keep
coming and every batch went through, and leaves an idle shard, or a failed batch's retry, to the next tick."""
from __future__ import annotations

from infra.local.polling import Polling
from infra.local.stream_delivery import StreamDelivery


class ScriptedReader:
    def __init__(self, reads: list[int], waiting_after: int | None = None) -> None:
        self.reads = reads
        self.polls = 0
        self.waiting_after = waiting_after

    def poll(self) -> int:
        self.polls += 1
        return self.reads.pop(0) if self.reads else 0

    def retry_waiting(self) -> bool:
        return self.waiting_after is not None and self.polls >= self.waiting_after


def _delivery(reader: ScriptedReader) -> StreamDelivery:
    delivery = StreamDelivery.__new__(StreamDelivery)  # no local AWS needed: only the tick is under test
    Polling.__init__(delivery)
    delivery.reader = reader  # type: ignore[assignment]
    return delivery


def test_a_busy_shard_is_read_again_at_once_until_it_is_idle():
    reader = ScriptedReader([3, 100, 1])
    _delivery(reader).tick()
    assert reader.polls == 4  # three polls that read records, then the one that found the shard idle


def test_a_failed_batch_waits_for_the_next_tick():
    reader = ScriptedReader([3, 5, 7], waiting_after=1)
    _delivery(reader).tick()
    assert reader.polls == 1


def test_a_stopping_stack_stops_reading():
    reader = ScriptedReader([3, 5, 7])
    delivery = _delivery(reader)
    Polling.stop(delivery)  # the stack stopping (StreamDelivery.stop also prints its summary)
    delivery.tick()
    assert reader.polls == 1

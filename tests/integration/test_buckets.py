"""Per-account token buckets (chalicelib/db/buckets.py): exact under parallel bursts, refilled by time, one
conditional write per use, nothing written for a refused use."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import buckets, keys
from chalicelib.db.models import Throttle
from tests.support.aws_calls import counting_aws_calls

BUCKET = buckets.Bucket(capacity=10, per_day=8640)  # one unit every 10 s
T0 = 1_800_000_000.0


def attempt(subject: str, now: float, cost: int = 1) -> bool:
    try:
        buckets.spend("test", subject, BUCKET, cost, now)
    except buckets.BucketEmpty:
        return False
    return True


def test_a_parallel_burst_gets_exactly_the_capacity(aws):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: attempt("burst", T0), range(30)))
    assert results.count(True) == 10


def test_the_bucket_refills_at_its_rate_and_never_above_its_capacity(aws):
    assert BUCKET.interval == 10_000_000
    assert [attempt("a", T0) for _ in range(11)] == [True] * 10 + [False]
    assert attempt("a", T0 + 10) and not attempt("a", T0 + 10)  # one unit back after 10 s
    assert sum(attempt("a", T0 + 10_000) for _ in range(20)) == 10  # idle for hours: still only 10


def test_a_burst_across_any_boundary_gets_no_more_than_capacity_plus_the_refill(aws):
    taken = sum(attempt("b", T0 + 0.5 * i) for i in range(201))  # 100 s of a script at 2 a second
    assert taken == 10 + 10  # the capacity and the ten units refilled in 100 s


def test_the_refusal_carries_the_exact_wait_and_writes_nothing(aws):
    for _ in range(10):
        buckets.spend("test", "c", BUCKET, 1, T0)
    before = Throttle.get(keys.bucket_pk("test", "c"), keys.BUCKET_SK).due
    with pytest.raises(buckets.BucketEmpty) as refused:
        buckets.spend("test", "c", BUCKET, 3, T0 + 4)
    assert refused.value.retry_after == pytest.approx(26)  # 3 units need 30 s; 4 s have passed
    assert Throttle.get(keys.bucket_pk("test", "c"), keys.BUCKET_SK).due == before


def test_costs_weigh_and_other_subjects_are_unaffected(aws):
    assert attempt("d", T0, cost=10)
    assert not attempt("d", T0, cost=1)
    assert attempt("e", T0, cost=10)
    with pytest.raises(ValueError):
        buckets.spend("test", "f", BUCKET, 11, T0)


def test_a_use_is_one_conditional_write_and_a_refusal_one_refused_write(aws):
    with counting_aws_calls() as log:
        attempt("g", T0)
        attempt("g", T0 + 1)
    assert dict(log.calls) == {"dynamodb.UpdateItem": 2}
    for _ in range(8):
        attempt("g", T0 + 1)
    with counting_aws_calls() as log:
        assert not attempt("g", T0 + 1)
    assert dict(log.calls) == {"dynamodb.UpdateItem": 1}


def test_a_bucket_that_refilled_completely_restarts_full(aws):
    assert attempt("h", T0)
    with counting_aws_calls() as log:
        assert sum(attempt("h", T0 + 1000) for _ in range(12)) == 10
    # every use is one write: this process saw the bucket's last use, so it restarts it at once, then advances it
    assert dict(log.calls) == {"dynamodb.UpdateItem": 12}


def test_restarting_in_parallel_still_gives_exactly_the_capacity(aws):
    assert attempt("i", T0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: attempt("i", T0 + 1000), range(30)))
    assert results.count(True) == 10


def test_a_guess_made_stale_by_another_process_costs_one_refused_write_and_nothing_else(aws):
    assert attempt("s", T0)
    buckets.forget()  # as a process that never saw this bucket: it guesses "full"
    with counting_aws_calls() as log:
        assert attempt("s", T0 + 1)  # the restart is refused (the bucket is in use), then it advances
    assert dict(log.calls) == {"dynamodb.UpdateItem": 2}
    assert sum(attempt("s", T0 + 1) for _ in range(10)) == 8  # exactly the capacity, whatever the guesses


def test_units_given_back_can_be_taken_again_and_a_gone_bucket_has_nothing_to_give(aws):
    assert [attempt("g", T0, cost=5) for _ in range(3)] == [True, True, False]
    buckets.give_back("test", "g", BUCKET, 5)
    assert [attempt("g", T0, cost=5) for _ in range(2)] == [True, False]  # exactly the five back, no more
    with ThreadPoolExecutor(max_workers=4) as pool:  # given back alongside other uses: each counts once
        list(pool.map(lambda _: buckets.give_back("test", "g", BUCKET, 2), range(4)))
    assert [attempt("g", T0, cost=2) for _ in range(5)] == [True] * 4 + [False]
    buckets.give_back("test", "never used", BUCKET, 3)
    assert not Throttle.count(keys.bucket_pk("test", "never used"))

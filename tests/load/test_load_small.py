"""A small `make load` against the real local stack: throttled DynamoDB, transaction conflicts, dropped sockets, a
delivery handler killed mid-batch; nothing lost, out of order or doubled beyond the kills' redeliveries, and the
table's invariants hold."""
from __future__ import annotations

import pytest

from infra.load.run import LoadSettings, run

pytestmark = pytest.mark.e2e


def test_small_load_run_loses_reorders_and_duplicates_nothing() -> None:
    settings = LoadSettings(users=12, messages=150, duration=50, throttle_rate=0.05, conflict_rate=0.05,
                            delivery_kill_rate=0.05, drop_every=0.5, groups=2, http_concurrency=4, quiet_seconds=1.5)
    report, failures = run(settings)
    found = report["findings"]
    assert failures == [], "\n".join([str(failures), *(f"{check}: {example}" for check, examples in
                                                        found["details"].items() for example in examples)])
    assert found["lost"] == 0 and found["duplicated"] == 0 and found["out_of_order"] == 0
    assert report["http_5xx"] == 0
    assert report["messages"]["accepted"] > 0 and report["socket_drops"] > 0
    assert "throttled=" in report["stack"]["faults"] and "throttled=0 " not in report["stack"]["faults"]
    assert "transactions_cancelled=" in report["stack"]["conflicts"]
    assert "transactions_cancelled=0 " not in report["stack"]["conflicts"]
    assert report["stack"]["invariant_violation_count"] == 0 and report["stack"]["refused_requests"] == 0

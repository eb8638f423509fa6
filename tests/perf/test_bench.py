"""`make bench` keeps working: its quick mode runs every part (in-process budgets, fan-out, import ratio, the
package and its cold start, the delivery latency on a local stack) and must finish cleanly."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # not imported from bench.py: it sets its own environment at import

EXPECTED_LINES = ("Worst day at the default limits", "AWS calls per operation", "Fan-out to 100 connections",
                  "Import time", "Deployment package", "Cost at list price", "Delivery through the table's stream",
                  "Reconnect storm")


@pytest.mark.e2e
def test_bench_quick_mode_runs_every_part():
    result = subprocess.run([sys.executable, "-m", "tests.perf.bench", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    for line in EXPECTED_LINES:
        assert line in result.stdout, (line, result.stdout[-4000:])
    assert "CHANGED" not in result.stdout, result.stdout

"""A bounded `make fuzz` in CI: Schemathesis against the local stack (stack start, seeding, fuzzing, stop ≤ ~75 s).

Settings: at most FUZZ_CI_MAX_EXAMPLES (5) cases per operation and phase, a FUZZ_CI_MAX_TIME (60 s) budget, one
worker, a fixed seed (FUZZ_SEED overrides it), every phase (examples, coverage, fuzzing, stateful), positive and
negative data. What fails the run: tests/fuzz/README.md.
"""
from __future__ import annotations

import io
import os

import pytest

from infra.fuzz import run

pytestmark = pytest.mark.e2e

MAX_TIME = int(os.environ.get("FUZZ_CI_MAX_TIME", "60"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_CI_MAX_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261124"))
HARD_LIMIT = MAX_TIME + 60


def test_schemathesis_finds_no_failure_against_the_local_stack() -> None:
    out = io.StringIO()
    status = run.run(["--max-time", str(MAX_TIME), "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
                      "--timeout", str(HARD_LIMIT)], out=out)
    output = out.getvalue()
    assert status == 0, f"Schemathesis failed (exit {status}); reproduce with `make fuzz`:\n{output[-20000:]}"
    assert "fuzz stats:" in output and "error answers compared with the table" in output, output[-5000:]

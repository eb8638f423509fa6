"""Everything the in-process tests (tests/conftest.py) and the local stack's moto server (infra/local/moto_main.py)
change in moto, in one place, for one moto version.

- `moto_partitions`: a Query reads only the partition it names (moto reads and sorts the whole table);
- `moto_serializer`: DynamoDB attribute values serialised directly (moto's generic walker is slow);
- `moto_isolation`: DynamoDB's per-item and per-transaction isolation, and no stream records of failed
  transactions;
- `strict_dynamodb`: requests real DynamoDB refuses are refused;
- `moto_expressions`: a condition expression is lexed, and an update expression parsed, once per text (moto
  does both on every request); the update validator's walks and its copy of the tree cost less.

Each depends on moto's internals, so on any other moto version `patch_moto()` raises instead of running with
patches that may no longer fit.
"""
from __future__ import annotations

import moto

from infra.local.moto_expressions import read_each_expression_once
from infra.local.moto_isolation import isolate_dynamodb
from infra.local.moto_partitions import read_partitions_only
from infra.local.moto_serializer import serialize_attribute_values_directly
from infra.local.strict_dynamodb import enforce

CHECKED_MOTO_VERSION = "5.2.5"
_patched = False


def patch_moto() -> None:
    """Idempotent; for the whole process. The one guard: each part wraps moto's methods, so it must run once."""
    global _patched
    if _patched:
        return
    if moto.__version__ != CHECKED_MOTO_VERSION:
        raise RuntimeError(
            f"infra/local's moto patches were checked against moto {CHECKED_MOTO_VERSION}, found {moto.__version__}: "
            f"re-check each module named in infra/local/moto_patches.py against the new version (the paths it "
            f"follows in moto's code), run tests/integration/test_moto_*.py, then update CHECKED_MOTO_VERSION")
    read_partitions_only()
    serialize_attribute_values_directly()
    isolate_dynamodb()
    enforce()
    read_each_expression_once()
    _patched = True

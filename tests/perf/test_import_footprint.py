"""`import app` stays light: no AWS client, none of the heavy or test-only packages (P7)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("cryptography", "pydantic", "moto", "pytest", "aws_cdk", "boto3")

PROBE = """
import sys, json
sys.path.insert(0, ".")
sys.modules['cryptography'] = None  # as on Lambda, where it is not installed
import botocore.session
created = []
original = botocore.session.Session.create_client
def counting(self, *args, **kwargs):
    created.append(args[0] if args else kwargs.get('service_name'))
    return original(self, *args, **kwargs)
botocore.session.Session.create_client = counting
import app
print(json.dumps({'modules': sorted(n for n, m in sys.modules.items() if m is not None), 'clients': created}))
"""


def probe() -> dict:
    env = {**os.environ, "TABLE_NAME": "philatelic-probe", "STAGE": "test"}
    out = subprocess.run([sys.executable, "-I", "-B", "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_creates_no_client_and_pulls_nothing_heavy():
    result = probe()
    assert result["clients"] == []
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
    # issues 24 and 25 added small modules of their own (replies, mentions, mutes, typing, receipts; blocks, edits,
    # pins, reactions), no dependency
    assert len(result["modules"]) <= 475

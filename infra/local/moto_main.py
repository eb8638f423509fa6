"""`python -m infra.local.moto_main …`: moto's server with the project's patches (infra/local/moto_patches.py:
DynamoDB's isolation, strict request checks, Queries that read one partition, direct serialisation) and without the
per-request costs of infra/local/moto_requests.py (a folder listing, a log line, a new connection).

`LOCAL_RAW_MOTO=1` makes the local stack start plain `moto.server` instead, to show what the isolation hides.
"""
from __future__ import annotations

import sys

from moto.server import main

from infra.local.moto_patches import patch_moto
from infra.local.moto_requests import trim_request_costs

if __name__ == "__main__":
    patch_moto()  # isolation, strict checks, one-partition reads, direct serialisation (infra/local/moto_patches.py)
    trim_request_costs()  # no folder listing, no log line and no new connection per request (moto_requests.py)
    main(sys.argv[1:])

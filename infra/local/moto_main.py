"""`python -m infra.local.moto_main …`: moto's server with DynamoDB's isolation (see infra/local/moto_isolation.py).

`LOCAL_RAW_MOTO=1` makes the local stack start plain `moto.server` instead, to show what the isolation hides.
"""
from __future__ import annotations

import sys

from moto.server import main

from infra.local.moto_isolation import isolate_dynamodb

if __name__ == "__main__":
    isolate_dynamodb()
    main(sys.argv[1:])

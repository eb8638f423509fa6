"""`python -m infra.local.moto_main …`: moto's server with DynamoDB's isolation (see infra/local/moto_isolation.py)
and its request checks (infra/local/strict_dynamodb.py).

`LOCAL_RAW_MOTO=1` makes the local stack start plain `moto.server` instead, to show what the isolation hides.
"""
from __future__ import annotations

import sys

from moto.server import main

from infra.local.moto_isolation import isolate_dynamodb
from infra.local.strict_dynamodb import enforce

if __name__ == "__main__":
    isolate_dynamodb()
    enforce()  # refuse what real DynamoDB refuses (infra/local/strict_dynamodb.py)
    main(sys.argv[1:])

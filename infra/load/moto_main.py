"""`python -m infra.load.moto_main …`: moto's server with DynamoDB requests handled one at a time.

moto 5.2.5's TransactWriteItems deep-copies the whole table before writing and, when any part fails, puts that
copy back; with the server's request threads this races other writes ("dictionary changed size during
iteration" → HTTP 500, and a rollback can undo writes other requests made in between). DynamoDB itself is
atomic per item and per transaction, so the load test serialises moto's DynamoDB handler to test the app,
not that race. `python -m infra.load --raw-moto` runs moto unchanged to show it.
"""
from __future__ import annotations

import sys
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised(self: DynamoHandler) -> Any:
    with _lock:
        return _call_action(self)


if __name__ == "__main__":
    DynamoHandler.call_action = _serialised  # type: ignore[method-assign]
    main(sys.argv[1:])

"""Shared PynamoDB connection for transactions, and reading which condition cancelled one."""
from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws import is_conflict
from chalicelib.db.models import Item


@lru_cache(maxsize=1)
def _connection() -> Connection:
    meta = Item.Meta
    return Connection(
        region=meta.region,
        connect_timeout_seconds=meta.connect_timeout_seconds,
        read_timeout_seconds=meta.read_timeout_seconds,
        max_retry_attempts=meta.max_retry_attempts,
        max_pool_connections=meta.max_pool_connections,
    )


def transaction(request_token: str | None = None) -> TransactWrite:
    """`request_token` makes DynamoDB treat a retried transaction (same token, same writes) as the one that
    already succeeded, instead of failing its conditions against its own earlier write."""
    return TransactWrite(connection=_connection(), client_request_token=request_token)


def failed_conditions(error: TransactWriteError) -> list[int]:
    """Indexes of the actions whose condition failed, in the order DynamoDB received them.

    PynamoDB sends a transaction's condition checks first, then deletes, then puts, then updates, whatever
    order they were added in; the cancellation reasons follow that order.
    """
    if is_conflict(error):
        return []  # a conflict decides nothing: the caller re-raises it and `conflicts.retrying` runs the step again
    reasons = error.cancellation_reasons or []
    return [index for index, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"]

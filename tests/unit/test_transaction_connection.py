"""Transactions keep as many open connections as the models do. With PynamoDB's default of 10, a reconnect storm
(16 `$connect` transactions at once in the local gateway, more in a Lambda's fan-out) discarded connections after
use ("Connection pool is full"), and every discarded one is a new TCP and TLS handshake to DynamoDB."""
from __future__ import annotations

from chalicelib.db.models import Item
from chalicelib.db.transactions import _connection


def test_transactions_keep_as_many_connections_as_the_models():
    models = Item._get_connection().connection.client.meta.config.max_pool_connections
    assert _connection().client.meta.config.max_pool_connections == models == Item.Meta.max_pool_connections

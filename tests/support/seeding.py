"""Bulk setup data for the tests that measure how reads cost as the table grows: items stored straight into local
AWS's table, without a request per 25 items and without stream records (the app wrote none of them, so there is
nothing to deliver). Written through BatchWriteItem, 10,000 items took about 9 s of a 14 s test, most of it
serialising and parsing the requests (py-spy), and their stream records were then read and dropped."""
from __future__ import annotations

import os
from collections.abc import Iterable

from pynamodb.models import Model


def store(items: Iterable[Model]) -> None:
    """Each item as its `save()` would store it (the same attributes, each model's tag included)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].get_table(os.environ["TABLE_NAME"])
    stream, table.stream_shard = table.stream_shard, None
    try:
        for item in items:
            table.put_item(item.serialize())
    finally:
        table.stream_shard = stream

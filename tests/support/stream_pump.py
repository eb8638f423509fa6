"""The in-process delivery path: the table's stream drained through the real delivery handler after each request.

Under moto's mock_aws, botocore sends DynamoDB Streams calls to an account-based host moto does not route;
`account_id_endpoint_mode="disabled"` keeps them on the regional endpoint moto serves. The clients come from one
session for the whole test process: moto replaces boto3's default session at every `mock_aws`, and a new session
reads DynamoDB's service model and endpoint rules again (about 0.1 s, for every test that delivers).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from infra import delivery_filter
from infra.local.stream_reader import Handler, StreamReader
from tests.support.aws_calls import uncounted


def table_stream(handler: Handler | None = None, passes: Callable[[dict[str, Any]], bool] = delivery_filter.passes
                 ) -> StreamReader:
    """The table's stream, read as the mapping reads it: through its filter unless `passes` says otherwise."""
    from chalicelib.realtime.delivery import handle

    region = os.environ["AWS_REGION"]
    table = _session().client("dynamodb", region_name=region).describe_table(TableName=os.environ["TABLE_NAME"])
    streams = _session().client("dynamodbstreams", region_name=region,
                                config=Config(account_id_endpoint_mode="disabled"))
    return StreamReader(streams, table["Table"]["LatestStreamArn"], handler or (lambda event, _: handle(event)),
                        passes=passes)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


class Pump:
    """Delivers everything committed so far; calls made here are not counted as the request's."""

    def __init__(self, reader: StreamReader) -> None:
        self.reader = reader

    def __call__(self) -> int:
        with uncounted():
            return self.reader.poll()


class _PumpingHttp:
    def __init__(self, http: Any, pump: Pump) -> None:
        self._http = http
        self._pump = pump

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._http, name)
        if not callable(method):
            return method

        def call_then_deliver(*args: Any, **kwargs: Any) -> Any:
            answer = method(*args, **kwargs)
            self._pump()
            return answer

        return call_then_deliver


class PumpingClient:
    """chalice.test.Client whose HTTP requests are followed by the delivery of what they committed."""

    def __init__(self, client: Any, pump: Pump) -> None:
        self._client = client
        self.http = _PumpingHttp(client.http, pump)
        self.pump = pump

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

"""Starts the local stack the way `make run` does, in a subprocess with a clean environment, on free ports."""
from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.local.child import ChildStack


class RunningStack(ChildStack):
    def aws(self, service: str) -> Any:
        """A boto3 client for local AWS, or for the gateway's @connections API."""
        endpoint = self.settings.ws_management_url if service == "apigatewaymanagementapi" else self.aws_url
        return _client(service, endpoint)


@functools.cache
def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="e2e", aws_secret_access_key="e2e", region_name="us-east-1")
    return session.client(service, endpoint_url=endpoint)


# Every e2e user registers from 127.0.0.1: room for a module's users under the per-source email-code limits
# (tests/api checks those limits themselves).
E2E_ENVIRONMENT = {"EMAIL_CODES_PER_SOURCE_HOUR": "1000", "EMAIL_CODES_PER_SOURCE_DAY": "1000"}


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
    """One stack per test module; a module may set STACK_ENVIRONMENT to change the stack's settings."""
    environment = {**E2E_ENVIRONMENT, **getattr(request.module, "STACK_ENVIRONMENT", {})}
    running = RunningStack(environment, start_timeout=30, stop_timeout=15)
    with running:
        yield running
    assert running.exit_code == 0, f"the local stack did not stop cleanly on SIGTERM:\n{running.output()}"

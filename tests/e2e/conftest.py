"""Starts the local stack the way `make run` does, in a subprocess with a clean environment, on free ports."""
from __future__ import annotations

import functools
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
import pytest

from infra.local.child import clean_environment, free_port, listening, local_table_name, log_text

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
IDLE_SECONDS = 3  # short, so the idle-timeout test is quick; every other test keeps its sockets busy








@dataclass(frozen=True)
class RunningStack:
    aws_port: int
    http_port: int
    ws_port: int
    table_name: str
    log: IO[bytes]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def output(self) -> str:
        return log_text(self.log)

    def aws(self, service: str) -> Any:
        """A boto3 client for local AWS, or for the gateway's @connections API."""
        endpoint = f"http://127.0.0.1:{self.ws_port}" if service == "apigatewaymanagementapi" else self.aws_url
        return _client(service, endpoint)


@functools.cache
def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="e2e", aws_secret_access_key="e2e", region_name="us-east-1")
    return session.client(service, endpoint_url=endpoint)




@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    ports = {"LOCAL_AWS_PORT": free_port(), "LOCAL_HTTP_PORT": free_port(), "LOCAL_WS_PORT": free_port()}
    environment = clean_environment()
    environment.update({name: str(port) for name, port in ports.items()})
    environment.update(LOCAL_WS_IDLE_SECONDS=str(IDLE_SECONDS), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.stack"], cwd=PROJECT_DIR, env=environment,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not all(listening(port) for port in ports.values()):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the local stack did not start (exit code {process.poll()}):\n{log_text(log)}")
                time.sleep(0.1)
            yield RunningStack(ports["LOCAL_AWS_PORT"], ports["LOCAL_HTTP_PORT"], ports["LOCAL_WS_PORT"],
                               local_table_name(), log)
        finally:
            exit_code = _stop(process)
        assert exit_code == 0, f"the local stack did not stop cleanly on SIGTERM:\n{log_text(log)}"


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM, as `kill` would send; the stack stops like on Ctrl-C. None when it had to be killed."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None

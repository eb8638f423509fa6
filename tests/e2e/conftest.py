"""Starts the local stack the way `make run` does, in a subprocess with a clean environment, on free ports."""
from __future__ import annotations

import functools
import json
import os
import signal
import socket
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

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
IDLE_SECONDS = 3  # short, so the idle-timeout test is quick; every other test keeps its sockets busy
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")


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
        return _output(self.log)

    def aws(self, service: str) -> Any:
        """A boto3 client for local AWS, or for the gateway's @connections API."""
        endpoint = f"http://127.0.0.1:{self.ws_port}" if service == "apigatewaymanagementapi" else self.aws_url
        return _client(service, endpoint)


@functools.cache
def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="e2e", aws_secret_access_key="e2e", region_name="us-east-1")
    return session.client(service, endpoint_url=endpoint)


def _local_table_name() -> str:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return str(config["stages"]["local"]["environment_variables"]["TABLE_NAME"])


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    ports = {"LOCAL_AWS_PORT": _free_port(), "LOCAL_HTTP_PORT": _free_port(), "LOCAL_WS_PORT": _free_port()}
    environment = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
    environment.update({name: str(port) for name, port in ports.items()})
    environment.update(LOCAL_WS_IDLE_SECONDS=str(IDLE_SECONDS), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.stack"], cwd=PROJECT_DIR, env=environment,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not all(_listening(port) for port in ports.values()):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the local stack did not start (exit code {process.poll()}):\n{_output(log)}")
                time.sleep(0.1)
            yield RunningStack(ports["LOCAL_AWS_PORT"], ports["LOCAL_HTTP_PORT"], ports["LOCAL_WS_PORT"],
                               _local_table_name(), log)
        finally:
            exit_code = _stop(process)
        assert exit_code == 0, f"the local stack did not stop cleanly on SIGTERM:\n{_output(log)}"


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM, as `kill` would send; the stack stops like on Ctrl-C. None when it had to be killed."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None

"""Local AWS: a moto server child process (DynamoDB, S3, SES… on one port) and boto3 clients for it."""
from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from infra.local.chalice_app import PROJECT_DIR
from infra.local.errors import StackError
from infra.local.ports import wait_until_listening
from infra.local.strict_dynamodb import LOG_MARK

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
PR_SET_PDEATHSIG = 1
RAW_MOTO_VARIABLE = "LOCAL_RAW_MOTO"  # "1": moto's server without DynamoDB's isolation (infra/local/moto_main.py)


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM if the stack is killed outright."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class MotoServer:
    """A child process in its own session, so a terminal Ctrl-C reaches only the stack, which stops it in order."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._process: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=40)
        self._drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        module = "moto.server" if os.environ.get(RAW_MOTO_VARIABLE) == "1" else "infra.local.moto_main"
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, "-H", self.host, "-p", str(self.port)],
            cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        assert self._process.stdout is not None
        self._drain = threading.Thread(target=self._keep_tail, args=(self._process.stdout,), name="moto-output",
                                       daemon=True)
        self._drain.start()
        if not wait_until_listening(self.host, self.port, START_TIMEOUT_SECONDS, self.running):
            self.stop()
            raise StackError(f"local AWS (moto server) did not start on {self.url}; its last output:\n{self.tail()}")

    def _keep_tail(self, stream: IO[str]) -> None:
        """Moto logs every request; only the last lines are kept, to explain a crash. A request real DynamoDB
        would refuse (infra/local/strict_dynamodb.py) is an error of the app: it is passed on to the stack's log."""
        for line in stream:
            self._output.append(line.rstrip())
            if LOG_MARK in line:
                print(line.rstrip(), file=sys.stderr, flush=True)

    def tail(self) -> str:
        return "\n".join(f"    {line}" for line in self._output) or "    (no output)"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def failure(self) -> str | None:
        """Why the server is gone, if it stopped while the stack still needs it."""
        if self._process is None or self._process.poll() is None:
            return None
        return f"local AWS (moto server) exited with code {self._process.returncode}; its last output:\n{self.tail()}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._drain is not None:
            self._drain.join(STOP_TIMEOUT_SECONDS)

    def client(self, service: str, region: str) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
        return boto3.session.Session(**FAKE_CREDENTIALS).client(
            service, endpoint_url=self.url, region_name=region, config=config)

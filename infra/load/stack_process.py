"""Starts the local stack in a subprocess on free ports (as tests/e2e does) and stops it with SIGTERM."""
from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Any

from infra.local.child import PROJECT_DIR, clean_environment, free_port, listening
from infra.local.moto_server import RAW_MOTO_VARIABLE

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


@dataclass
class StackProcess:
    throttle_rate: float = 0.0
    throttle_last_attempt: bool = False
    bcrypt_rounds: int = 4
    raw_moto: bool = False
    idle_seconds: int = 600
    aws_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    exit_code: int | None = None
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def environment(self) -> dict[str, str]:
        environment = clean_environment()
        environment.update(LOCAL_AWS_PORT=str(self.aws_port), LOCAL_HTTP_PORT=str(self.http_port),
                           LOCAL_WS_PORT=str(self.ws_port), LOCAL_WS_IDLE_SECONDS=str(self.idle_seconds),
                           BCRYPT_ROUNDS=str(self.bcrypt_rounds), PYTHONUNBUFFERED="1",
                           PYTHONDONTWRITEBYTECODE="1")
        if self.raw_moto:
            environment[RAW_MOTO_VARIABLE] = "1"
        if self.throttle_rate > 0:
            environment["LOCAL_FAULT_DYNAMODB_THROTTLE_RATE"] = str(self.throttle_rate)
            environment["LOCAL_FAULT_DYNAMODB_THROTTLE_LAST_ATTEMPT"] = "1" if self.throttle_last_attempt else "0"
        return environment

    def start(self) -> StackProcess:
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen([sys.executable, "-m", "infra.local.stack"], cwd=PROJECT_DIR,
                                         env=self.environment(), stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        ports = (self.aws_port, self.http_port, self.ws_port)
        while not all(listening(port) for port in ports):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"the local stack did not start:\n{output[-4000:]}")
            time.sleep(0.2)
        return self

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> int | None:
        """SIGTERM (the stack stops as on Ctrl-C); killed if it does not stop in time."""
        process = self._process
        if process is None or process.poll() is not None:
            return process.poll() if process else None
        process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.exit_code = None
        return self.exit_code

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

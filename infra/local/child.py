"""The local stack as a child process, for the e2e tests and the fuzz and load harnesses."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from infra.local.chalice_app import PROJECT_DIR, stage_config
from infra.local.errors import StackError
from infra.local.ports import free_ports, wait_until_listening
from infra.local.settings import StackSettings

KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def clean_environment() -> dict[str, str]:
    """Only what a process needs to run: no AWS profile, token or endpoint leaks in from the caller."""
    return {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}


def log_text(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")


class ChildStack:
    """`python -m infra.local.stack` on free ports with a clean environment plus `environment`; its output is kept
    in a temporary file; stopped with SIGTERM (as on Ctrl-C), killed after `stop_timeout` seconds.
    `project_dir` runs the stack of another copy of the project; `serve_http=False` is `make aws` (the HTTP port is
    left free for `chalice local`)."""

    def __init__(self, environment: Mapping[str, str] | None = None, *, start_timeout: float = 60.0,
                 stop_timeout: float = 20.0, project_dir: Path = PROJECT_DIR, serve_http: bool = True) -> None:
        aws_port, http_port, ws_port = free_ports(3)
        self.settings = StackSettings(aws_port=aws_port, http_port=http_port, ws_port=ws_port)
        self.aws_url, self.http_url, self.ws_url = self.settings.aws_url, self.settings.http_url, self.settings.ws_url
        self.project_dir = project_dir
        self.serve_http = serve_http
        self.table = str(stage_config(project_dir).environment_variables["TABLE_NAME"])
        self.exit_code: int | None = None  # after stop(): None when it had to be killed
        self._environment = dict(environment or {})
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] = tempfile.TemporaryFile()

    def start(self) -> ChildStack:
        environment = clean_environment()
        environment.update({name: str(port) for name, port in self.settings.ports.items()})
        environment.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        environment.update(self._environment)
        command = [sys.executable, "-m", "infra.local.stack", *([] if self.serve_http else ["--without-http"])]
        self._process = subprocess.Popen(command, cwd=self.project_dir, env=environment, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT)
        process = self._process
        deadline = time.monotonic() + self._start_timeout
        for variable, port in self.settings.ports.items():
            if variable == "LOCAL_HTTP_PORT" and not self.serve_http:
                continue
            if not wait_until_listening(self.settings.host, port, deadline - time.monotonic(),
                                        lambda: process.poll() is None):
                code = process.poll()
                self.stop()
                raise StackError(f"the local stack did not start (exit code {code}):\n{self.output()[-4000:]}")
        return self

    def output(self) -> str:
        return log_text(self._log)

    @property
    def pid(self) -> int:
        if self._process is None:
            raise StackError("the stack is not running")
        return self._process.pid

    def stop(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return self.exit_code
        if process.poll() is not None:
            self.exit_code = process.returncode
            return self.exit_code
        process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = process.wait(self._stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.exit_code = None
        return self.exit_code

    def __enter__(self) -> ChildStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

"""Helpers for running the local stack as a child process (the e2e tests and the fuzz and load harnesses)."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parents[2]
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def clean_environment() -> dict[str, str]:
    """Only what a process needs to run: no AWS profile, token or endpoint leaks in from the caller."""
    return {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}


def log_text(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")


def local_table_name() -> str:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return str(config["stages"]["local"]["environment_variables"]["TABLE_NAME"])

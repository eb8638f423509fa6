"""Checking that a port is free before starting, picking a free one, and waiting until a server listens on it."""
from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable

from infra.local.errors import StackError


def ensure_free(host: str, port: int, variable: str) -> None:
    """Fail now, with the variable to change, rather than half-way through starting the stack.

    SO_REUSEADDR is set as the servers set it, so only a live listener (not a TIME_WAIT leftover) counts.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StackError(f"port {port} on {host} is already in use ({exc.strerror}); "
                             f"stop whatever holds it or choose another port with {variable}=...") from None


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports nothing listens on now, chosen by the system (for stacks started by tests and
    harnesses). Every probe stays bound until all are chosen: a probe closed first may be handed out again."""
    with contextlib.ExitStack() as probes:
        chosen = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((host, 0))
            chosen.append(int(probe.getsockname()[1]))
        return chosen


def wait_until_listening(host: str, port: int, timeout: float, still_starting: Callable[[], bool]) -> bool:
    """True once something accepts connections on the port; False on timeout or when still_starting() is False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and still_starting():
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False

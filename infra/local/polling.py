"""A part of the local stack that does one step every few seconds on a daemon thread, until the stack stops."""
from __future__ import annotations

import threading


class Polling:
    """Subclasses set `name` and `interval` and implement `tick()`; the stack watches `failure()`."""

    name = "poller"
    interval = 1.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError

    def pause(self, seconds: float) -> None:
        """Wait inside a tick, waking at once when the stack stops."""
        self._stop.wait(seconds)

    def stopping(self) -> bool:
        return self._stop.is_set()

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive():
            return f"the {self.name} thread stopped"
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

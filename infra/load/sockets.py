"""One user's WebSocket over the run: reopened after drops, every frame recorded with its arrival time."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

HEARTBEAT = json.dumps({"msg_code": 1004, "message": "ping"})
CONNECT_ATTEMPTS = 5


@dataclass(frozen=True)
class Received:
    user_id: int
    generation: int  # which of the user's sockets (0 = first)
    at: float  # time.monotonic() on arrival
    frame: dict[str, Any]


@dataclass
class UserSocket:
    user_id: int
    token: str
    ws_url: str
    received: list[Received]  # shared by every socket of the run
    generation: int = -1
    connect_failures: int = 0
    drops: int = 0
    _connection: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None
    closed_unexpectedly: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, opened/closing/closed)

    async def open(self) -> None:
        """Connect (retrying refused upgrades) and send the heartbeat at once, so kept events are replayed."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                self._connection = await connect(f"{self.ws_url}/?token={self.token}", open_timeout=15,
                                                 ping_interval=None, close_timeout=10, max_queue=None)
                break
            except (TimeoutError, InvalidStatus, WebSocketException, OSError):
                self.connect_failures += 1
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.3 * (attempt + 1))
        self.generation += 1
        self.timeline.append((time.monotonic(), f"opened {self.generation}"))
        assert self._connection is not None
        self._reader = asyncio.create_task(self._read(self._connection, self.generation))
        await self._connection.send(HEARTBEAT)

    async def _read(self, connection: ClientConnection, generation: int) -> None:
        try:
            async for raw in connection:  # after our close() it still yields what arrived before the close frame
                self.received.append(Received(self.user_id, generation, time.monotonic(), json.loads(raw)))
        except WebSocketException as exc:
            self.closed_unexpectedly.append(f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """A clean close; every frame the gateway sent before its close frame is still read."""
        if self._connection is not None:
            self.timeline.append((time.monotonic(), "closing"))
            await self._connection.close()
            if self._reader is not None:
                await self._reader
            if self._connection.close_code not in (1000, None):
                self.closed_unexpectedly.append(f"close code {self._connection.close_code}")
            self.timeline.append((time.monotonic(), "closed"))
        self._connection = None

    async def drop_and_reopen(self, offline_seconds: float) -> None:
        self.drops += 1
        await self.close()
        await asyncio.sleep(offline_seconds)
        await self.open()

    async def heartbeat(self) -> None:
        if self._connection is not None:
            await self._connection.send(HEARTBEAT)

"""A local API Gateway WebSocket API: client sockets on any path, and the `@connections` management API.

One aiohttp server (own thread and event loop) serves both on the same port. Each socket's frames go to the
app's handlers one after another; the handlers run in a thread pool and may call back into `@connections`.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from infra.local.errors import StackError
from infra.local.faults import PostFailures
from infra.local.ws_events import (
    ConnectionInfo,
    connect_event,
    disconnect_event,
    iso8601,
    message_event,
    new_id,
)
from infra.local.ws_handlers import AppHandlers

MAX_FRAME_BYTES = 32 * 1024  # a larger client frame closes the socket with 1009, as API Gateway does
MAX_PAYLOAD_BYTES = 128 * 1024  # a larger @connections post is refused with 413
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
ABNORMAL_CLOSURE = 1006
REAPER_TICK_SECONDS = 1.0
CLOSE_HANDSHAKE_SECONDS = 3.0
START_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 5.0
CONNECTIONS_PATH = "/@connections/{connection_id}"


@dataclass
class Connection:
    info: ConnectionInfo
    socket: web.WebSocketResponse
    last_active_at: float
    close_code: int | None = None
    close_reason: str = ""


def _aws_error(status: int, error_type: str, message: str | None) -> web.Response:
    """The error shape boto3 maps to client.exceptions.<error_type> (e.g. GoneException)."""
    return web.json_response({"message": message}, status=status, headers={"x-amzn-ErrorType": error_type})


def _multi(mapping: Any) -> dict[str, list[str]]:
    return {name: mapping.getall(name) for name in dict.fromkeys(mapping.keys())}


class WebSocketGateway:
    def __init__(self, handlers: AppHandlers, host: str, port: int, idle_seconds: int,
                 max_lifetime_seconds: int, post_delay_seconds: int = 0,
                 post_failures: PostFailures | None = None) -> None:
        self._handlers = handlers
        self._host = host
        self._port = port
        self._idle_seconds = idle_seconds
        self._max_lifetime_seconds = max_lifetime_seconds
        self._post_delay_seconds = post_delay_seconds
        self._post_failures = post_failures
        self._connections: dict[str, Connection] = {}
        self._closing: set[asyncio.Task[bool]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._listening = False
        self._startup_error: StackError | None = None

    # -- lifecycle (called from the stack's thread) --

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ws-gateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS) or not self._listening:
            raise self._startup_error or StackError(
                f"WebSocket gateway did not start on {self._host}:{self._port} (see the error above)")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._ready.set()

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive():
            return "the WebSocket gateway thread stopped"
        return None

    def stop(self) -> None:
        """Closes every socket (each gets its `$disconnect`), then the server and the handler pool."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stopping is not None and thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        thread.join()
        self._handlers.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post(CONNECTIONS_PATH, self._post_to_connection)
        app.router.add_get(CONNECTIONS_PATH, self._get_connection, allow_head=False)
        app.router.add_delete(CONNECTIONS_PATH, self._delete_connection)
        app.router.add_get("/{path:.*}", self._open_socket, allow_head=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, backlog=128, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        try:
            await site.start()
        except OSError as exc:
            self._startup_error = StackError(
                f"WebSocket gateway cannot listen on {self._host}:{self._port} ({exc.strerror}); "
                "choose another port with LOCAL_WS_PORT=...")
            await runner.cleanup()
            return
        reaper = asyncio.create_task(self._reap())
        self._listening = True
        self._ready.set()
        await self._stopping.wait()
        reaper.cancel()
        await asyncio.gather(*(self._drop(connection, GOING_AWAY, "local gateway stopping")
                               for connection in list(self._connections.values())))
        await runner.cleanup()  # waits for the socket handlers, and so for their $disconnect calls

    # -- client sockets --

    async def _open_socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, timeout=CLOSE_HANDSHAKE_SECONDS)
        if not socket.can_prepare(request).ok:
            return web.json_response({"message": "Upgrade Required: this endpoint takes WebSocket connections"},
                                     status=426, headers={"Upgrade": "websocket"})
        info = ConnectionInfo(new_id(), time.time(), request.host, request.remote or "",
                              request.headers.get("User-Agent", ""))
        response = await self._handlers.invoke("$connect", connect_event(info, _multi(request.query),
                                                                         _multi(request.headers)))
        status = 500 if response is None else response.get("statusCode", 200)
        if status != 200:
            return web.Response(status=status if isinstance(status, int) and 400 <= status < 600 else 500)
        connection = Connection(info, socket, last_active_at=time.time())
        self._connections[info.connection_id] = connection
        try:
            await socket.prepare(request)  # inside: a client gone during `$connect` still gets `$disconnect`
            await self._relay_frames(connection)
        finally:
            self._connections.pop(info.connection_id, None)
            code = connection.close_code or socket.close_code or ABNORMAL_CLOSURE
            await self._handlers.invoke("$disconnect", disconnect_event(info, code, connection.close_reason))
        return socket

    async def _relay_frames(self, connection: Connection) -> None:
        async for frame in connection.socket:
            if frame.type is WSMsgType.TEXT:
                event = message_event(connection.info, frame.data)
            elif frame.type is WSMsgType.BINARY:
                event = message_event(connection.info, base64.b64encode(frame.data).decode("ascii"), is_base64=True)
            else:  # ERROR: a protocol error or a frame over the limit; aiohttp has closed the socket
                return
            connection.last_active_at = time.time()
            if await self._handlers.invoke("$default", event) is None:
                context = event["requestContext"]
                with contextlib.suppress(ConnectionError):  # the client may be gone already
                    await connection.socket.send_json({"message": "Internal server error",
                                                       "connectionId": context["connectionId"],
                                                       "requestId": context["requestId"]})

    def _drop(self, connection: Connection, code: int, reason: str) -> asyncio.Task[bool]:
        """Gone for the management API at once; closing the socket makes its handler send `$disconnect`."""
        self._connections.pop(connection.info.connection_id, None)
        connection.close_code, connection.close_reason = code, reason
        task = asyncio.create_task(connection.socket.close(code=code, message=reason.encode("utf-8")))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return task

    async def _reap(self) -> None:
        """API Gateway's limits: close connections idle too long or open too long."""
        while True:
            await asyncio.sleep(REAPER_TICK_SECONDS)
            now = time.time()
            for connection in list(self._connections.values()):
                if now - connection.info.connected_at >= self._max_lifetime_seconds:
                    reason = "connection lifetime exceeded"
                elif now - connection.last_active_at >= self._idle_seconds:
                    reason = "idle timeout"
                else:
                    continue
                self._drop(connection, GOING_AWAY, reason)

    # -- @connections management API --

    def _live(self, request: web.Request) -> Connection | None:
        connection = self._connections.get(request.match_info["connection_id"])
        return None if connection is None or connection.socket.closed else connection

    async def _post_to_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _aws_error(410, "GoneException", None)
        if self._post_failures is not None and self._post_failures.fails(
                request.headers.get("amz-sdk-invocation-id", "")):
            return _aws_error(500, "InternalServerErrorException", "injected by infra/local/faults.py")
        too_large = _aws_error(413, "PayloadTooLargeException", f"payload exceeds {MAX_PAYLOAD_BYTES} bytes")
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return too_large
        data = await request.read()
        if len(data) > MAX_PAYLOAD_BYTES:
            return too_large
        try:
            text: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # not text: delivered as a binary frame
        if self._post_delay_seconds:
            await asyncio.sleep(self._post_delay_seconds)
        try:
            await (connection.socket.send_bytes(data) if text is None else connection.socket.send_str(text))
        except ConnectionError:
            return _aws_error(410, "GoneException", None)
        return web.Response(status=200)

    async def _get_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _aws_error(410, "GoneException", None)
        info = connection.info
        # Wire names as AWS sends them; boto3 presents them as ConnectedAt, LastActiveAt, Identity.SourceIp…
        return web.json_response({"connectedAt": iso8601(info.connected_at),
                                  "lastActiveAt": iso8601(connection.last_active_at),
                                  "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent}})

    async def _delete_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _aws_error(410, "GoneException", None)
        self._drop(connection, NORMAL_CLOSURE, "closed through the @connections API")
        return web.Response(status=204)

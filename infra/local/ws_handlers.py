"""Invoking the app's real `$connect`/`$default`/`$disconnect` Lambda handlers, off the event loop."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import LambdaContext

from infra.local.chalice_app import STAGE
from infra.local.errors import StackError

LOG = logging.getLogger("infra.local.ws")
# Route key → the Lambda function name Chalice gives it (its memory and timeout come from .chalice/config.json).
FUNCTION_NAMES = {"$connect": "websocket_connect", "$default": "websocket_message",
                  "$disconnect": "websocket_disconnect"}
WORKERS = 16


def _function_of(scope: Config) -> tuple[str, int, int]:
    """The function's name, memory (MB) and timeout (ms), as its Lambda context reports them."""
    return scope.function_name, scope.lambda_memory_size or 128, (scope.lambda_timeout or 60) * 1000


class AppHandlers:
    def __init__(self, app: Chalice, config: Config) -> None:
        self.use_app(app)
        # read once: chalice's Config looks each value up through its chain of stage and function settings, which
        # cost a third of the gateway's event loop in a reconnect storm when done for every event
        self._functions = {route: _function_of(config.scope(STAGE, name)) for route, name in FUNCTION_NAMES.items()}
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ws-lambda")

    def use_app(self, app: Chalice) -> None:
        """The app's handlers for every event from now on (a reloaded app: open sockets stay open)."""
        missing = set(FUNCTION_NAMES) - set(app.websocket_handlers)
        if missing:
            raise StackError(f"app.py defines no WebSocket handler for {', '.join(sorted(missing))}")
        self._handlers = {route: app.handler_map[handler.name] for route, handler in app.websocket_handlers.items()}

    def _context(self, route_key: str) -> LambdaContext:
        function_name, memory_size, max_runtime_ms = self._functions[route_key]
        return LambdaContext(function_name=function_name, memory_size=memory_size, max_runtime_ms=max_runtime_ms)

    async def invoke(self, route_key: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """The handler's response, or None when it raised (API Gateway then reports an internal error)."""
        handler = self._handlers[route_key]
        context = self._context(route_key)
        try:
            response = await asyncio.get_running_loop().run_in_executor(self._pool, handler, event, context)
        except Exception:
            LOG.exception("%s handler raised for connection %s", route_key,
                          event["requestContext"]["connectionId"])
            return None
        return response if isinstance(response, dict) else {}

    def close(self) -> None:
        self._pool.shutdown(wait=True)

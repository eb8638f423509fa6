"""The HTTP API: chalice local's gateway and request handler, with 404 for unknown routes and a real backlog."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    EventType,
    HeaderType,
    LocalChalice,
    LocalGateway,
    LocalGatewayException,
)

from infra.local.errors import StackError

NOT_FOUND_BODY = b'{"code":404,"message":"route not found","data":{}}'
JSON_TYPE = "application/json; charset=utf-8"


class RouteNotFound(LocalGatewayException):
    CODE = 404


_peer = threading.local()  # the TCP peer of the connection this server thread is serving


class Gateway(LocalGateway):
    """chalice local answers an unknown path with API Gateway's 403 "Missing Authentication Token"; the web
    client expects the project's 404 envelope, so route matching failures become RouteNotFound. chalice local
    also reports every caller as 127.0.0.1; like API Gateway, this reports the TCP peer's address."""

    def _generate_lambda_event(self, method: str, path: str, headers: HeaderType, body: bytes | None) -> EventType:
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # RouteMatcher.match_route: no route for this path
            raise RouteNotFound({"Content-Type": JSON_TYPE}, NOT_FOUND_BODY) from None
        event["requestContext"]["identity"]["sourceIp"] = getattr(_peer, "address", "")
        return event


class RequestHandler(ChaliceRequestHandler):
    """Shares one Gateway (it keeps no per-request state) instead of building one per request."""

    def __init__(self, request: Any, client_address: Any, server: ApiServer) -> None:
        self.local_gateway = server.gateway
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def setup(self) -> None:
        """Each connection is served on its own thread: its requests' events name this peer."""
        _peer.address = self.client_address[0]
        super().setup()

    def __getattr__(self, name: str) -> Any:
        """Methods the app routes nowhere (TRACE, QUERY…) reach it too and get its 405, as on API Gateway,
        instead of http.server's HTML 501."""
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


class ApiServer(ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog: bursts of clients queue instead of being refused
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, RequestHandler)


def serve_requests_in_threads(app: Chalice) -> None:
    """What chalice local does too: make app.current_request thread-local so concurrent requests never mix."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type("ThreadedLocalChalice", (LocalChalice, type(app)), {})


class HttpApi:
    def __init__(self, app: Chalice, config: Config, host: str, port: int) -> None:
        self._app = app
        self._config = config
        self._address = (host, port)
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None

    def use_app(self, app: Chalice) -> None:
        """A reloaded app: requests from now on reach it; running ones finish on the previous one."""
        serve_requests_in_threads(app)
        self._app = app
        if self._server is not None:
            self._server.gateway = Gateway(app, self._config)

    def start(self) -> None:
        serve_requests_in_threads(self._app)
        try:
            self._server = ApiServer(self._address, Gateway(self._app, self._config))
        except OSError as exc:
            raise StackError(f"HTTP API cannot listen on {self._address[0]}:{self._address[1]} ({exc.strerror}); "
                             "choose another port with LOCAL_HTTP_PORT=...") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)
        self._thread.start()

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive():
            return "the HTTP API server thread stopped"
        return None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

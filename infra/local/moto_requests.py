"""What moto's server spends on every request besides answering it, removed for the local stack.

- `moto.backends.list_of_moto_modules()` lists and stats moto's package folder on every request (the dispatcher
  asks whether the Host header names a backend): the folder does not change while the server runs, so the list is
  read once.
- moto finds the handler's method for an action by listing the handler class's functions (`inspect.getmembers`)
  on every request, 3 % of local AWS's interpreter in the default `make load` (py-spy, GIL samples): a class's
  functions do not change while the server runs, so each class is listed once.
- werkzeug logs one line per request (`"POST / HTTP/1.1" 200 -`), which the stack then reads back through a pipe
  only to keep the last lines: request lines are no longer written; warnings, errors and the strict request check's
  refusals (printed to stderr, infra/local/strict_dynamodb.py) still are.
- werkzeug's development server closes the connection after every answer, because it cannot tell where an unread
  request body ends. Every AWS call of the stack was a new TCP connection and a new server thread, which the
  server's one accepting thread started one after another: in a reconnect storm (tests/perf/reconnect_storm.py)
  that thread, not DynamoDB's work, set the pace (about 950 connections in 12 s, a third of the accepting thread's
  samples spent starting threads). DynamoDB keeps an SDK's connections open, so local AWS now does too: a request
  with a Content-Length is read through a stream that ends with its body (whatever the app left unread is read
  and dropped there), so the next request on the connection starts where it should. A chunked request body still
  closes its connection, as before.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import IO, cast

from botocore.exceptions import ClientError
from moto import backends
from moto import server as moto_server
from moto.core import responses as moto_responses
from moto.core.request import Request
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler
from werkzeug.wrappers import Response
from werkzeug.wsgi import LimitedStream

DYNAMODB_TARGET = "DynamoDB_20120810."  # X-Amz-Target of DynamoDB's operations (its streams say DynamoDBStreams_…)


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection open after an answer when the request's end is known."""

    # an answer is written in two sends (head, body): on a kept connection Nagle's algorithm holds the body back
    # until the client's delayed ACK of the head, 40 ms later
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (length is not None and not length.isdigit()):
            self._keep_alive = False
            super().run_wsgi()
            return
        self._keep_alive = True
        connection_stream = self.rfile
        # the body and nothing after it: werkzeug's read-what-is-left after the answer stops at its end
        body = LimitedStream(cast("IO[bytes]", connection_stream), int(length or 0))
        self.rfile = body  # type: ignore[assignment]
        try:
            super().run_wsgi()
            body.exhaust()
        finally:
            self.rfile = connection_stream

    def send_header(self, keyword: str, value: str) -> None:
        """werkzeug says `Connection: close` on every answer; only a request whose end is unknown gets it."""
        if keyword.lower() == "connection" and value.lower() == "close" and getattr(self, "_keep_alive", False):
            return
        super().send_header(keyword, value)


def trim_request_costs() -> None:
    """For the moto server process only (infra/local/moto_main.py), before moto's `main` starts the server."""
    backends.list_of_moto_modules = _listed_once(backends.list_of_moto_modules)  # type: ignore[assignment]
    moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_server.MotoRequestHandler = KeepAliveRequestHandler  # type: ignore[misc]
    DomainDispatcherApplication.__call__ = _dynamodb_without_flask(DomainDispatcherApplication.__call__)


class _ServerRequest(Request):
    """moto's request as its server hands it to a handler (Flask's request class adds nothing DynamoDB reads)."""

    from_wsgi_server = True


def _dynamodb_without_flask(dispatch: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """A DynamoDB operation goes straight to the handler moto's Flask app routes it to (`DynamoHandler.dispatch` at
    `/`), the way moto's Flask view calls it: the same request, the same answer, without Flask's request context,
    its debug-mode form checks and its CORS headers (a third of local AWS's interpreter on the app's small requests,
    py-spy). Every other request goes through moto's Flask apps as before."""

    @functools.wraps(dispatch)
    def call(self: DomainDispatcherApplication, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/" or not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
            return dispatch(self, environ, start_response)
        request = _ServerRequest(environ)
        try:
            result = DynamoHandler.dispatch(request, request.raw_url, dict(request.headers))
        except ClientError as error:  # as moto's Flask view answers it
            result = 400, {}, error.response["Error"]["Message"]
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        return Response(response=body, status=status, headers=headers)(environ, start_response)

    return call


def _listed_once(listing: Callable[[], Iterable[str]]) -> Callable[[], tuple[str, ...]]:
    return functools.cache(lambda: tuple(listing()))

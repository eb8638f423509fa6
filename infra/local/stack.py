"""`make run`: local AWS, the HTTP API and the WebSocket gateway in the foreground until Ctrl-C; `make aws`
(`--without-http`): the same without the HTTP API, for `chalice local --stage local`.

The app reloads in place when its code changes (reloader.py); with LOCAL_DATA_DIR set (the Makefile sets it) the
table and the bucket are saved there at stop and loaded at start (saved_data.py).
`LocalStack` is the same start/stop as a Python API. It imports app.py after setting the environment, so it
can start once per process; tests run `python -m infra.local.stack` in a subprocess with LOCAL_*_PORT set.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Protocol

from chalice import Chalice

from infra.local import faults
from infra.local.bootstrap import bootstrap
from infra.local.chalice_app import (
    PROJECT_DIR,
    STAGE,
    app_environment,
    install_environment,
    load_app,
    stage_config,
)
from infra.local.errors import StackError
from infra.local.http_api import HttpApi
from infra.local.mail_echo import MailEcho, data_url
from infra.local.moto_server import MotoServer
from infra.local.ports import ensure_free
from infra.local.reloader import Reloader
from infra.local.saved_data import SavedData
from infra.local.settings import StackSettings
from infra.local.stream_delivery import StreamDelivery
from infra.local.ws_gateway import WebSocketGateway
from infra.local.ws_handlers import AppHandlers

WATCH_SECONDS = 0.5


class Part(Protocol):
    def failure(self) -> str | None: ...

    def stop(self) -> None: ...


class LocalStack:
    def __init__(self, settings: StackSettings | None = None, serve_http: bool = True) -> None:
        self.settings = settings or StackSettings.from_env()
        self.serve_http = serve_http
        self.resources: list[str] = []
        self._parts: list[Part] = []  # in start order; stopped in reverse

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Everything or nothing: on any failure what already started is stopped again."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        settings = self.settings
        for variable, port in settings.ports.items():
            if self.serve_http or variable != "LOCAL_HTTP_PORT":  # make aws leaves that port to chalice local
                ensure_free(settings.host, port, variable)
        environment = app_environment(stage_config(), settings)
        config = stage_config(environment=environment)
        install_environment(environment)

        aws = MotoServer(settings.host, settings.aws_port)
        self._parts.append(aws)
        aws.start()
        self.resources = bootstrap(aws)
        if settings.data_dir:
            saved = SavedData(aws, environment["AWS_REGION"], environment["TABLE_NAME"], environment["UPLOAD_BUCKET"],
                              Path(settings.data_dir).resolve(), settings.fresh)
            self.resources.append(saved.start())
            self._parts.append(saved)  # stops before local AWS: saves while it still runs
        if os.environ.get(faults.RATE_VARIABLE) or os.environ.get(faults.CONFLICT_RATE_VARIABLE):  # see faults.py
            faults.install_from_env()

        app = load_app(config)
        delivery = StreamDelivery(aws, environment["AWS_REGION"], environment["TABLE_NAME"], app,
                                  faults.delivery_kills_from_env(), settings.delivery_lag_seconds)
        delivery.skip_existing()
        self._parts.append(delivery)
        delivery.start()
        handlers = AppHandlers(app, config)
        http_api = HttpApi(app, config, settings.host, settings.http_port) if self.serve_http else None
        if http_api is not None:
            self._parts.append(http_api)
            http_api.start()
        gateway = WebSocketGateway(handlers, settings.host, settings.ws_port,
                                   settings.ws_idle_seconds, settings.ws_max_lifetime_seconds,
                                   settings.ws_post_delay_seconds, faults.post_failures_from_env())
        self._parts.append(gateway)
        gateway.start()

        def use_app(reloaded: Chalice) -> None:
            handlers.use_app(reloaded)  # first: refuses an app without the WebSocket handlers, changing nothing
            delivery.use_app(reloaded)
            if http_api is not None:
                http_api.use_app(reloaded)

        reloader = Reloader(PROJECT_DIR, use_app)
        self._parts.append(reloader)
        reloader.start()
        mail_echo = MailEcho(aws, environment["AWS_REGION"])
        self._parts.append(mail_echo)
        mail_echo.start()

    def failure(self) -> str | None:
        """Why the stack can no longer serve (a part died), or None while it is healthy."""
        return next((reason for part in self._parts if (reason := part.failure()) is not None), None)

    def stop(self) -> None:
        """The gateway stops before local AWS, so every open socket still gets its `$disconnect`."""
        while self._parts:
            self._parts.pop().stop()


def banner(stack: LocalStack) -> str:
    settings = stack.settings
    resources = "\n".join(f"                - {line}" for line in stack.resources)
    http = (f"  HTTP API      {settings.http_url}   routes at the root, e.g. POST {settings.http_url}/auth/login"
            if stack.serve_http else
            f"  HTTP API      not served here: run `chalice local --stage {STAGE}` (port 8000; .chalice/config.json's "
            f"{STAGE} stage points it at\n                local AWS on port 5000 and @connections on port 8001)")
    return f"""
Philatelic IM local stack (chalice stage `{STAGE}`) is running on {settings.host}:
{http}
  WebSocket     {settings.ws_url}/?token=<jwt>   any path works, e.g. {settings.ws_url}/im/connect?token=<jwt>
                @connections API: {settings.ws_management_url}/@connections/<connectionId>
                closes sockets idle {settings.ws_idle_seconds} s or open {settings.ws_max_lifetime_seconds} s
  Local AWS     {settings.aws_url}   (moto server; AWS_ENDPOINT_URL for boto3 and the AWS CLI)
{resources}
  Delivery      the table's stream drives the app's `deliver` function (pushes to sockets), as in the cloud
  Emails        echoed below as they are sent; all of them: GET {data_url(settings.aws_url)} -> ses.Message
  Web client    VITE_APP_BASE_API={settings.http_url}  VITE_APP_WS_API={settings.ws_url}/im/connect?token=
  Reloading     edits to app.py and chalicelib/ are reloaded in place; the console says what was reloaded
Press Ctrl-C to stop.
"""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the local stack (make run; make aws with --without-http)")
    parser.add_argument("--without-http", action="store_true",
                        help="local AWS and the WebSocket gateway only, for `chalice local --stage local`")
    arguments = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C and `kill` stop the same clean way, even when started in the background (where SIGINT is ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stack: LocalStack | None = None
    try:
        starting = LocalStack(StackSettings.from_env(), serve_http=not arguments.without_http)
        starting.start()  # stops what it started if it fails
        stack = starting
        print(banner(stack), flush=True)
        while (reason := stack.failure()) is None:
            time.sleep(WATCH_SECONDS)
        raise StackError(reason)
    except KeyboardInterrupt:
        print("\nstopping the local stack…", flush=True)
        code = 0
    except StackError as exc:
        print(f"\nlocal stack failed: {exc}", file=sys.stderr, flush=True)
        code = 1
    if stack is not None:
        stack.stop()
        print("local stack stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

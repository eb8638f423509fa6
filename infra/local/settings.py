"""Ports, WebSocket limits and the data folder of the local stack, read from the environment."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from infra.local.errors import StackError

HOST = "127.0.0.1"


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StackError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise StackError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false", "yes", "no"):
        raise StackError(f"{name} must be 1 or 0, got {raw!r}")
    return raw in ("1", "true", "yes")


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    port = _int(environ, name, default, minimum=1)
    if port > 65535:
        raise StackError(f"{name} must be a TCP port (1-65535), got {port}")
    return port


@dataclass(frozen=True)
class StackSettings:
    aws_port: int = 5000
    http_port: int = 8000
    ws_port: int = 8001
    ws_idle_seconds: int = 10 * 60
    ws_max_lifetime_seconds: int = 2 * 3600
    ws_post_delay_seconds: int = 0  # every @connections post takes this long: a slow recipient, for tests
    delivery_lag_seconds: int = 0  # the stream is delivered this long after each write: an iterator age
    host: str = HOST
    data_dir: str = ""  # where the table and the bucket are kept across restarts; "" keeps nothing (tests)
    fresh: bool = False  # start empty even when data_dir holds saved data

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StackSettings:
        settings = cls(
            aws_port=_port(environ, "LOCAL_AWS_PORT", cls.aws_port),
            http_port=_port(environ, "LOCAL_HTTP_PORT", cls.http_port),
            ws_port=_port(environ, "LOCAL_WS_PORT", cls.ws_port),
            ws_idle_seconds=_int(environ, "LOCAL_WS_IDLE_SECONDS", cls.ws_idle_seconds, minimum=1),
            ws_max_lifetime_seconds=_int(environ, "LOCAL_WS_MAX_LIFETIME_SECONDS", cls.ws_max_lifetime_seconds,
                                         minimum=1),
            ws_post_delay_seconds=_int(environ, "LOCAL_WS_POST_DELAY_SECONDS", cls.ws_post_delay_seconds, minimum=0),
            delivery_lag_seconds=_int(environ, "LOCAL_DELIVERY_LAG_SECONDS", cls.delivery_lag_seconds, minimum=0),
            data_dir=environ.get("LOCAL_DATA_DIR", "").strip(),
            fresh=_flag(environ, "LOCAL_FRESH"),
        )
        if len({settings.aws_port, settings.http_port, settings.ws_port}) < 3:
            raise StackError("LOCAL_AWS_PORT, LOCAL_HTTP_PORT and LOCAL_WS_PORT must be three different ports")
        return settings

    @property
    def ports(self) -> dict[str, int]:
        """Each port by the variable that sets it, for error messages."""
        return {"LOCAL_AWS_PORT": self.aws_port, "LOCAL_HTTP_PORT": self.http_port, "LOCAL_WS_PORT": self.ws_port}

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ws_management_url(self) -> str:
        return f"http://{self.host}:{self.ws_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

"""`$connect`, `$default` and `$disconnect`, called from the three one-line entry points in app.py."""
from __future__ import annotations

import json
import time
from contextvars import Token
from typing import Any

from chalicelib import clock, metrics
from chalicelib.config import get_settings
from chalicelib.db import connections
from chalicelib.errors import AppError, RateLimited, Unauthorized, wait_in_words
from chalicelib.http.auth import token_from
from chalicelib.logs import log_event, log_exception
from chalicelib.realtime import push
from chalicelib.realtime.sender import get_sender, remember_endpoint
from chalicelib.security import limits
from chalicelib.security.tokens import Claims, decode_token
from chalicelib.services import typing_relay
from chalicelib.ws import frames

MAX_FRAME_BYTES = 32 * 1024
MAX_CONNECT_RACES = 10  # attempts beyond the cap, for connects of one user racing for the same room
# a heartbeat's replay posts for at most this long (the function's timeout is 28 s); the rest stays kept, in place
REPLAY_SECONDS = 15

OK = {"statusCode": 200}


def _context(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    remember_endpoint(context.get("domainName", ""), context.get("stage", ""))
    return context


def _log(context: dict[str, Any], started: float, calls: Token[Any], **fields: Any) -> None:
    log_event(kind="ws", request_id=context.get("requestId", ""), route=context.get("routeKey", ""),
              connection_id=context.get("connectionId", ""),
              latency_ms=round((time.perf_counter() - started) * 1000, 2), aws_calls=metrics.end(calls), **fields)


def connect(event: dict[str, Any]) -> dict[str, Any]:
    """Authenticate `?token=` (browsers cannot set headers on a WebSocket) and register the connection."""
    started = time.perf_counter()
    calls = metrics.begin()
    context = _context(event)
    try:
        claims = decode_token(token_from(event.get("queryStringParameters") or {}, {}) or "-")
    except Unauthorized:
        _log(context, started, calls, code=401)
        return {"statusCode": 401}
    try:
        limits.spend("connects", claims.user_id, 1, "too many new connections")
    except RateLimited:
        _log(context, started, calls, code=429, user_id=claims.user_id)
        return {"statusCode": 429}
    try:
        _register(context["connectionId"], claims)
    except connections.TokenEnded:
        _log(context, started, calls, code=401, user_id=claims.user_id)
        return {"statusCode": 401}
    _log(context, started, calls, code=200, user_id=claims.user_id)
    return OK


def _register(connection_id: str, claims: Claims) -> None:
    """The newest connection wins: at the cap, the oldest is closed (with a frame saying why) to make room."""
    limit = get_settings().max_connections_per_user
    presented = connections.Presented(claims.jti, claims.epoch)
    for _ in range(limit + MAX_CONNECT_RACES):
        try:
            connections.add(connection_id, claims.user_id, clock.now(), connections.LIFETIME_SECONDS, presented, limit)
            return
        except connections.AtCapacity:
            oldest = connections.take_oldest(claims.user_id)
            if oldest is not None:
                push.close_connections([oldest], frames.too_many_connections(limit))
    raise RuntimeError("could not make room for a new connection")


def _reply(connection_id: str, frame: dict[str, Any]) -> None:
    try:
        get_sender().post(connection_id, push.encode(frame))
    except Exception:
        log_exception("reply failed", connection=connection_id)


def _within_replay_window(context: dict[str, Any]) -> bool:
    connected_at_ms = context.get("connectedAt")
    if not isinstance(connected_at_ms, (int, float)):
        return False
    return clock.now() * 1000 - connected_at_ms < connections.REPLAY_WINDOW_SECONDS * 1000


def _close_ownerless(connection_id: str) -> None:
    """A connection with no owner was closed to make room while its own `$connect` ran (before API Gateway could
    close it): it is closed now, saying why."""
    _reply(connection_id, frames.too_many_connections(get_settings().max_connections_per_user))
    try:
        get_sender().close(connection_id)
    except Exception:
        log_exception("closing a connection without owner failed", connection=connection_id)


def message(event: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    calls = metrics.begin()
    context = _context(event)
    connection_id = context.get("connectionId", "")
    body = event.get("body") or ""
    try:
        owner = limits.spend_frame(connection_id, "too many frames")
    except RateLimited as refused:
        _close_flooding(connection_id, refused.retry_after)
        _log(context, started, calls, code=frames.TOO_MANY_FRAMES)
        return OK
    if owner is None:
        _close_ownerless(connection_id)
        _log(context, started, calls, code=frames.TOO_MANY_CONNECTIONS)
        return OK
    # the first frames of a new connection (the client's first heartbeat) replay its user's kept frames, unless
    # another replayer holds them (it posts them)
    replayed = push.replay(owner, push.Deadline.after(REPLAY_SECONDS)) if _within_replay_window(context) else 0
    try:
        frame = json.loads(body) if len(body) <= MAX_FRAME_BYTES else None
    except (ValueError, RecursionError):
        frame = None
    if not isinstance(frame, dict) or isinstance(frame.get("msg_code"), bool) \
            or not isinstance(frame.get("msg_code"), int):
        _reply(connection_id, frames.error_frame("malformed frame: send a JSON object with an integer msg_code"))
        _log(context, started, calls, code=frames.ERROR, replayed=replayed, user_id=owner)
        return OK
    if frame["msg_code"] == frames.TYPING:
        code = _typing(connection_id, owner, frame)
        _log(context, started, calls, code=code, replayed=replayed, user_id=owner)
        return OK
    if frame["msg_code"] != frames.HEARTBEAT:
        _reply(connection_id, frames.error_frame(
            "unsupported msg_code: the socket takes heartbeats (1004) and typing notices (1010); send messages with "
            "POST /messages/private"))
        _log(context, started, calls, code=frames.ERROR, replayed=replayed, user_id=owner)
        return OK
    _log(context, started, calls, code=frames.HEARTBEAT, replayed=replayed, user_id=owner)
    return OK


def _typing(connection_id: str, owner: int, frame: dict[str, Any]) -> int:
    """Relays a typing notice (services/typing_relay.py); a bad or refused one gets the error frame."""
    try:
        typing_relay.relay(owner, frame)
    except AppError as refused:
        _reply(connection_id, frames.error_frame(refused.message))
        return frames.ERROR
    return frames.TYPING


def _close_flooding(connection_id: str, retry_after: int) -> None:
    """A connection over its frame limit gets `msg_code 2006` and is closed; its frames cost nothing more."""
    _reply(connection_id, frames.too_many_frames(wait_in_words(retry_after)))
    try:
        get_sender().close(connection_id)
    except Exception:
        log_exception("closing a flooding connection failed", connection=connection_id)


def disconnect(event: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    calls = metrics.begin()
    context = _context(event)
    removed = connections.remove(context.get("connectionId", ""))
    _log(context, started, calls, code=200, user_id=removed.user_id if removed else None)
    return OK

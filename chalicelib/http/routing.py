"""The one route wrapper: size limit, auth, body parsing, validation, envelope, CORS and the log line."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import metrics
from chalicelib.aws import is_busy
from chalicelib.config import get_settings
from chalicelib.errors import INTERNAL, SERVICE_BUSY, AppError, PayloadTooLarge, RateLimited
from chalicelib.http.auth import authenticate
from chalicelib.http.body import parse_body, parse_query
from chalicelib.http.cors import cors_headers
from chalicelib.http.envelope import failure, success
from chalicelib.http.schema import Schema, validate
from chalicelib.logs import log_event, log_exception
from chalicelib.security.tokens import Claims

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BUSY_RETRY_AFTER_SECONDS = 1  # throttling or transaction conflicts outlasted our retries: the client may retry soon


@dataclass(frozen=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    summary: str
    schema: Schema | None
    auth: bool
    max_body: int | None
    response: Schema | None
    tags: tuple[str, ...] = field(default_factory=tuple)
    other_statuses: tuple[tuple[int, str], ...] = ()  # HTTP answers besides the envelope, e.g. (302, "…")


ROUTES: list[RouteSpec] = []


@dataclass(frozen=True)
class Call:
    """What a view receives: the caller (when the route needs auth), validated params, the raw request."""

    caller: Claims | None
    params: dict[str, Any]
    request: Request

    @property
    def claims(self) -> Claims:
        assert self.caller is not None, "route declared auth=False"
        return self.caller

    @property
    def user_id(self) -> int:
        return self.claims.user_id

    @property
    def source_ip(self) -> str:
        """API Gateway's view of the TCP peer (never a client-sent header such as X-Forwarded-For)."""
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")


View = Callable[[Call], Any]


def _query_form(request: Request) -> dict[str, Any]:
    query = request.query_params
    if not query:
        return {}
    return parse_query({name: query.getlist(name) for name in query.keys()})


def _run(request: Request, view: View, spec: RouteSpec, path_params: dict[str, str]) -> tuple[Any, Claims | None]:
    settings = get_settings()
    limit = spec.max_body or settings.max_body_bytes
    body = request.raw_body or b""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    query = request.query_params
    caller = authenticate(dict(query) if query else None, request.headers) if spec.auth else None
    form = _query_form(request)
    if request.method in BODY_METHODS:
        form.update(parse_body(raw, request.headers.get("content-type", ""), limit))
    form.update(path_params)
    params = validate(spec.schema, form) if spec.schema else {}
    return view(Call(caller=caller, params=params, request=request)), caller


def dispatch(request: Request, view: View, spec: RouteSpec, path_params: dict[str, str]) -> Response:
    started = time.perf_counter()
    calls = metrics.begin()
    headers = cors_headers(request.headers, get_settings().cors_allowed_origins)
    caller: Claims | None = None
    try:
        result, caller = _run(request, view, spec, path_params)
        response = result if isinstance(result, Response) else success(result)
        code = 200
    except RateLimited as exc:
        code = exc.code
        response = failure(exc.code, exc.message, exc.http_status, {"Retry-After": str(exc.retry_after)})
    except AppError as exc:
        code = exc.code
        response = failure(exc.code, exc.message, exc.http_status)
    except Exception as exc:
        if is_busy(exc):
            code = SERVICE_BUSY
            log_event(error="busy", route=spec.path, exception=type(exc).__name__)
            response = failure(SERVICE_BUSY, "the service is busy, please retry shortly", SERVICE_BUSY,
                               {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)})
        else:
            code = INTERNAL
            log_exception("unhandled", route=spec.path)
            response = failure(INTERNAL, "internal error, please retry later", INTERNAL)
    response.headers.update(headers)
    log_event(
        kind="http",
        request_id=(request.context or {}).get("requestId", ""),
        route=f"{request.method} {spec.path}",
        user_id=caller.user_id if caller else None,
        code=code,
        status=response.status_code,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        aws_calls=metrics.end(calls),
    )
    return response


def not_routed(request: Request | None) -> Response:
    """The answer to a request no route serves. Behind the REST API such requests never reach the function (a
    gateway response answers them); an HTTP API's `$default` route brings them here."""
    headers = cors_headers(request.headers, get_settings().cors_allowed_origins) if request else {}
    response = failure(404, "route not found", 404, headers)
    context = request.context if request else {}
    log_event(kind="http", request_id=(context or {}).get("requestId", ""),
              route=f"{request.method if request else '?'} (no route)", code=404, status=404)
    return response


def endpoint(
    bp: Blueprint,
    path: str,
    methods: Iterable[str],
    *,
    summary: str,
    schema: Schema | None = None,
    auth: bool = True,
    max_body: int | None = None,
    response: Schema | None = None,
    aliases: Iterable[str] = (),
    other_statuses: tuple[tuple[int, str], ...] = (),
) -> Callable[[View], View]:
    """Register `view` on `path` (and its aliases) behind the shared request pipeline."""

    def decorator(view: View) -> View:
        for route_path in (path, *aliases):
            spec = RouteSpec(route_path, tuple(methods), summary, schema, auth, max_body, response,
                             (bp._import_name.rsplit(".", 1)[-1],), other_statuses)

            def chalice_view(__spec: RouteSpec = spec, **path_params: str) -> Response:
                request = bp.current_request
                return dispatch(request, view, __spec, path_params)

            bp.route(route_path, methods=list(methods), content_types=["*/*"],
                     name=f"{view.__name__}:{route_path}")(chalice_view)
            ROUTES.append(spec)
        return view

    return decorator

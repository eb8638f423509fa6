"""The two events API Gateway hands api_handler for one HTTP request, built from recorded examples of each shape.

* REST API, Lambda proxy integration (`events/rest-proxy.json`): headers as the client sent their names, the stage
  left out of the top-level `path` (it is in requestContext.path), bodies base64-encoded only for the API's binary
  media types.
* HTTP API, payload format 1.0 (`events/http-api-v1.json`, the shape the cloud stack's HTTP API sends): `version`
  "1.0", header names lower-cased, the stage *in* the top-level `path` for a stage other than `$default`, no
  resourceId, and bodies base64-encoded unless their media type is text (JSON, text/*): an HTTP API has no binary
  media types, so the app must read urlencoded and multipart bodies either way. A request no route matches goes to
  the `$default` route, whose event names no route path.

Both fixtures follow the field lists of AWS's documented examples (API Gateway developer guide: "Lambda proxy
integration input format" for REST, "Create AWS Lambda proxy integrations for HTTP APIs", payload format 1.0);
the values are ours. `HttpApiGateway` lets a chalice test client send its requests as HTTP API events through
the real app handler (`API_EVENT_SHAPE=http-api-1.0` does that for the `client` fixture, tests/conftest.py).
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalice.local import LambdaContext, LocalGateway, RouteMatcher

EVENTS = Path(__file__).parent / "events"
STAGE = "api"
TEXT_MEDIA_TYPES = ("application/json", "text/")
HTTP_API_SHAPE = "http-api-1.0"  # the value of API_EVENT_SHAPE that sends the client fixture's requests this way


def recorded(name: str) -> dict[str, Any]:
    """`rest-proxy` or `http-api-v1`: the recorded event, a POST /auth/login from 198.51.100.23."""
    return json.loads((EVENTS / f"{name}.json").read_text())


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # as the client asks the API's base URL for it, query string included: "/users/5?x=1"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    source_ip: str = "198.51.100.23"


@dataclass(frozen=True)
class Route:
    resource_path: str | None  # "/users/{id}"; None: no route matches (an HTTP API's $default route)
    path_parameters: dict[str, str] | None


def route_of(routes: list[str], path: str) -> Route:
    """Which chalice route serves the path (API Gateway's routing, as chalice's local gateway does it)."""
    try:
        match = RouteMatcher(routes).match_route(path)
    except ValueError:
        return Route(None, None)
    return Route(match.route, match.captured or None)


def _query(path: str) -> tuple[str, dict[str, list[str]] | None]:
    parts = urlsplit(path)
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return parts.path, values or None


def _media_type(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _fill(event: dict[str, Any], request: ApiRequest, route: Route, header_names: Any) -> dict[str, Any]:
    path, query = _query(request.path)
    headers = {header_names(name): value for name, value in request.headers.items()}
    event.update(
        httpMethod=request.method, headers=headers,
        multiValueHeaders={name: [value] for name, value in headers.items()},
        queryStringParameters={name: values[-1] for name, values in query.items()} if query else None,
        multiValueQueryStringParameters=query, pathParameters=route.path_parameters, body=None,
        isBase64Encoded=False)
    context = event["requestContext"]
    context.update(httpMethod=request.method, resourcePath=route.resource_path, path=f"/{STAGE}{path}",
                   requestId=str(uuid.uuid4()))
    context["identity"].update(sourceIp=request.source_ip, userAgent=headers.get("user-agent", ""))
    return event


def _body(event: dict[str, Any], body: bytes | None, encode: bool) -> dict[str, Any]:
    if body:
        event["isBase64Encoded"] = encode
        event["body"] = base64.b64encode(body).decode("ascii") if encode else body.decode("utf-8")
    return event


def rest_proxy_event(request: ApiRequest, route: Route, binary_types: list[str]) -> dict[str, Any]:
    """The REST API's event: the route is known (the REST API answers unknown paths itself)."""
    event = _fill(recorded("rest-proxy"), request, route, lambda name: name)
    event.update(resource=route.resource_path, path=_query(request.path)[0])
    return _body(event, request.body, _media_type(request.headers) in binary_types)


def http_api_v1_event(request: ApiRequest, route: Route) -> dict[str, Any]:
    """The HTTP API's payload format 1.0 event on stage `api`; a route of None is the `$default` route."""
    event = _fill(recorded("http-api-v1"), request, route, str.lower)
    path = _query(request.path)[0]
    event.update(resource=route.resource_path or "$default", path=f"/{STAGE}{path}")
    if route.resource_path is None:
        event["requestContext"]["resourcePath"] = "$default"
    media = _media_type(request.headers)
    return _body(event, request.body, not media.startswith(TEXT_MEDIA_TYPES))


def as_http_api_v1(rest_event: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API 1.0 event for the request a REST proxy event describes."""
    context = rest_event["requestContext"]
    raw = rest_event.get("body")
    body = base64.b64decode(raw) if rest_event.get("isBase64Encoded") and raw else (
        raw.encode("utf-8") if isinstance(raw, str) else raw)
    query_string = urlencode(rest_event.get("multiValueQueryStringParameters") or {}, doseq=True)
    request = ApiRequest(context["httpMethod"], rest_event["path"] + (f"?{query_string}" if query_string else ""),
                         dict(rest_event.get("headers") or {}), body, context["identity"]["sourceIp"])
    return http_api_v1_event(request, Route(context["resourcePath"], rest_event.get("pathParameters")))


class HttpApiGateway(LocalGateway):
    """chalice's test gateway, sending each request to the app as the cloud stack's HTTP API does (payload format
    1.0, stage `api`, `$default` for unknown paths). The source address is the converter's, so
    tests/support/factories.py `from_source` works unchanged, and like chalice's REST events these name no
    domain (the app's absolute URLs stay http://<Host>; test_event_shapes.py checks them behind a domain). CORS
    preflight is the HTTP API's own (its CorsConfiguration, checked in tests/infra): OPTIONS requests reach the app
    here only because no gateway configuration is simulated."""

    def handle_request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        request = ApiRequest(method, path, dict(headers), body.encode("utf-8") if isinstance(body, str) else body,
                             self.event_converter.LOCAL_SOURCE_IP)
        route = route_of(list(self._app_object.routes), path)
        event = http_api_v1_event(request, route)
        del event["requestContext"]["domainName"], event["requestContext"]["domainPrefix"]
        return self._app_object(event, LambdaContext("api_handler", 1024))


def use_http_api_events(test_client: Any) -> None:
    """Make a chalice.test.Client send its HTTP requests as HTTP API 1.0 events."""
    http = test_client.http
    http._local_gateway = HttpApiGateway(http._app, http._config)

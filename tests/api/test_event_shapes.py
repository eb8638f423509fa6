"""The same app behind both front doors: every route gets the same request from a REST proxy event and from an HTTP
API payload format 1.0 event (tests/support/event_shapes.py), through the real chalice handler.

What differs between the shapes is handled on purpose: header-name case, base64 bodies the REST API would have sent
as text, the stage in the top-level `path` (the absolute URLs the app makes), the source address (login and
email-code limits), and requests no route matches (the HTTP API's `$default` route reaches the app, which answers
the 404 envelope). CORS preflight and throttling are the HTTP API's configuration (tests/infra/test_http_api.py).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice import Response
from chalice.local import LambdaContext

from chalicelib.http import routing
from chalicelib.http.openapi import build_document
from chalicelib.http.routing import Call
from tests.support.event_shapes import (
    ApiRequest,
    Route,
    as_http_api_v1,
    http_api_v1_event,
    recorded,
    rest_proxy_event,
    route_of,
)
from tests.support.factories import post_form, register
from tests.support.upload_samples import png

ORIGIN = "https://chat.example.com"  # tests/conftest.py CORS_ALLOWED_ORIGINS
DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
NOT_FOUND = {"code": 404, "message": "route not found", "data": {}}
BOUNDARY = "shape-boundary-7d3f"


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    from app import app

    return app(event, LambdaContext("api_handler", 1024))


def answer_json(response: dict[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def multipart(fields: dict[str, str], file: bytes) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
                 "Content-Type: image/png\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def both_shapes(request: ApiRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    from app import app

    route = route_of(list(app.routes), request.path.split("?", 1)[0])
    rest = rest_proxy_event(request, route, app.api.binary_types)
    rest["requestContext"]["domainName"] = DOMAIN
    http = http_api_v1_event(request, route)
    http["requestContext"]["domainName"] = DOMAIN
    return rest, http


# --- the recorded events --------------------------------------------------------------------------------------


def keys_of(value: Any, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, inner in value.items():
        found.add(prefix + key)
        if key in ("requestContext", "identity"):
            found |= keys_of(inner, f"{prefix}{key}.")
    return found


def test_the_converter_gives_the_recorded_http_api_shape() -> None:
    rest, http = recorded("rest-proxy"), recorded("http-api-v1")
    converted = as_http_api_v1(rest)
    assert keys_of(converted) == keys_of(http)
    assert "version" not in rest and converted["version"] == http["version"] == "1.0"
    for event in (converted, http):
        assert event["path"] == "/api/auth/login"  # the stage is in an HTTP API's path...
        assert event["requestContext"]["resourcePath"] == "/auth/login"  # ...not in the route chalice matches
        assert event["requestContext"]["identity"]["sourceIp"] == rest["requestContext"]["identity"]["sourceIp"]
        assert all(name == name.lower() for name in event["headers"])
        assert base64.b64decode(event["body"]).decode() == rest["body"]
    assert rest["path"] == "/auth/login" and rest["requestContext"]["path"] == "/api/auth/login"
    rest["multiValueQueryStringParameters"] = {"q": ["a b&c", "2"]}
    assert as_http_api_v1(rest)["multiValueQueryStringParameters"] == {"q": ["a b&c", "2"]}
    assert as_http_api_v1(rest)["queryStringParameters"] == {"q": "2"}


def test_the_recorded_login_gets_the_same_answer_in_both_shapes(client) -> None:
    user = register(client)
    answers = []
    for name in ("rest-proxy", "http-api-v1"):
        event = recorded(name)
        body = f"email={user['email']}&password={user['password']}"
        event["body"] = base64.b64encode(body.encode()).decode() if event["isBase64Encoded"] else body
        answers.append(invoke(event))
    rest, http = answers
    assert rest["statusCode"] == http["statusCode"] == 200
    assert answer_json(rest)["code"] == answer_json(http)["code"] == 200
    assert answer_json(rest)["data"]["id"] == answer_json(http)["data"]["id"] == user["id"]
    assert rest["headers"]["Access-Control-Allow-Origin"] == http["headers"]["Access-Control-Allow-Origin"] == ORIGIN


# --- every route, both shapes ---------------------------------------------------------------------------------


@pytest.fixture
def echoing_routes(monkeypatch):
    """Each route answers with what its view would receive: nothing else runs, so one request can be sent twice."""
    from chalicelib.api.uploads import request_base_url

    def echo(request, view, spec, path_params) -> Response:
        seen = {
            "route": f"{request.method} {spec.path}", "view": view.__name__, "path_params": path_params,
            "query": {name: request.query_params.getlist(name) for name in request.query_params or {}},
            "body": base64.b64encode(request.raw_body or b"").decode(),
            "headers": {name: request.headers.get(name) for name in ("authorization", "content-type", "origin")},
            "source_ip": Call(None, {}, request).source_ip, "base_url": request_base_url(request),
        }
        return Response(body=json.dumps(seen), status_code=200, headers={"Content-Type": "application/json"})

    monkeypatch.setattr(routing, "dispatch", echo)


def sample_path(path: str) -> str:
    return "/".join("12" if part.startswith("{") else part for part in path.split("/"))


def test_every_documented_route_receives_the_same_request_from_both_shapes(aws, echoing_routes) -> None:
    from app import app
    from chalicelib.http.routing import ROUTES

    documented = {(method.upper(), path) for path, item in build_document(ROUTES, 1).get("paths", {}).items()
                  for method in item}
    served = {(method, path) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}
    assert documented <= served
    body = multipart({"name": "张三", "owner": "7"}, png())
    for method, path in sorted(served):
        request = ApiRequest(method, f"{sample_path(path)}?probe=1&probe=two&empty=", {
            "Authorization": "Bearer shape-token", "Origin": ORIGIN,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            body if method in routing.BODY_METHODS else None, source_ip="203.0.113.9")
        rest, http = both_shapes(request)
        rest_answer, http_answer = invoke(rest), invoke(http)
        assert rest_answer == http_answer, f"{method} {path}"
        seen = answer_json(http_answer)
        assert seen["route"] == f"{method} {path}" and seen["source_ip"] == "203.0.113.9"
        assert seen["query"] == {"probe": ["1", "two"], "empty": [""]}
        assert seen["base_url"] == f"https://{DOMAIN}/api", f"{method} {path}"
        if method in routing.BODY_METHODS:
            assert base64.b64decode(seen["body"]) == body


@pytest.mark.parametrize("content_type, body", [
    ("application/json", '{"email":"a@b.cn","password":"x"}'),
    ("application/x-www-form-urlencoded", "email=a%40b.cn&password=x"),
], ids=["json", "urlencoded"])
def test_text_bodies_read_the_same_plain_or_base64(aws, echoing_routes, content_type, body) -> None:
    """An HTTP API may base64-encode what a REST API sends as text: the app reads both."""
    request = ApiRequest("POST", "/auth/login", {"Content-Type": content_type}, body.encode())
    rest, http = both_shapes(request)
    encoded = dict(http, body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    plain = dict(http, body=body, isBase64Encoded=False)
    assert invoke(rest) == invoke(encoded) == invoke(plain)


# --- what only the HTTP API sends: $default, a named stage -------------------------------------------------------


@pytest.mark.parametrize("resource_path", ["$default", "/no/such/route", None], ids=["default", "raw-path", "absent"])
def test_requests_no_route_matches_answer_the_404_envelope(aws, resource_path) -> None:
    event = http_api_v1_event(ApiRequest("GET", "/no/such/route", {"Origin": ORIGIN}), Route(None, None))
    if resource_path is None:
        del event["requestContext"]["resourcePath"]
    else:
        event["requestContext"]["resourcePath"] = resource_path
    answer = invoke(event)
    assert answer["statusCode"] == 404 and answer_json(answer) == NOT_FOUND
    if resource_path is not None:  # without one chalice makes no request to read the Origin from; behind the HTTP
        assert answer["headers"]["Access-Control-Allow-Origin"] == ORIGIN  # API its CORS configuration adds them


def test_a_method_the_route_does_not_serve_answers_405(aws) -> None:
    """`PATCH /auth/login` matches no HTTP API route (only `POST /auth/login`), so it reaches the app by `$default`;
    when the event names the path, chalice's 405 with `Allow` answers, as the local stack does."""
    event = http_api_v1_event(ApiRequest("PATCH", "/auth/login"), Route(None, None))
    event["requestContext"]["resourcePath"] = "/auth/login"
    answer = invoke(event)
    assert answer["statusCode"] == 405 and answer["headers"]["Allow"] == "POST, OPTIONS"


def test_file_urls_keep_the_stage_behind_an_http_api(http_api_client) -> None:
    """The top-level `path` of an HTTP API event starts with the stage; the file URL's base must still be
    https://<domain>/api, as behind the REST API."""
    from app import app

    user = register(http_api_client)
    body = multipart({}, png())
    request = ApiRequest("POST", "/upload/file", {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                                                  "Authorization": f"Bearer {user['token']}"}, body)
    rest, http = both_shapes(request)
    assert http["path"] == "/api/upload/file" and http["isBase64Encoded"] is True
    urls = [answer_json(invoke(event))["data"]["file_url"] for event in (rest, http)]
    assert all(url.startswith(f"https://{DOMAIN}/api/files/{user['id']}/") for url in urls), urls
    assert route_of(list(app.routes), "/upload/file").resource_path == "/upload/file"


def test_login_limits_count_the_http_api_source_address(http_api_client) -> None:
    """sourceIp comes from requestContext.identity in both shapes: failures from one address are limited there and
    nowhere else (tests/api/test_login_throttling.py holds the limits themselves)."""
    from chalicelib.config import get_settings
    from tests.support.factories import from_source

    user = register(http_api_client)
    limit = get_settings().login_max_failures
    with from_source(http_api_client, "203.0.113.50"):
        codes = [post_form(http_api_client, "/auth/login", {"email": user["email"], "password": "wrong-one"}
                           ).json_body["code"] for _ in range(limit + 1)]
    assert codes[-1] == 429, codes
    with from_source(http_api_client, "203.0.113.51"):
        answer = post_form(http_api_client, "/auth/login", {"email": user["email"], "password": user["password"]})
    assert answer.json_body["code"] == 200

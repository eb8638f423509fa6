"""The API documents: /openapi.json covers every route and is valid OpenAPI 3.1, Swagger UI is served offline,
and docs/asyncapi.yaml documents every WebSocket msg_code."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client

from chalicelib.api import docs
from chalicelib.http.openapi import document
from chalicelib.ws import frames

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
DOC_ROUTES = ("/openapi.json", "/docs", "/docs/{asset}")


@pytest.fixture(scope="module")
def app_client() -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def openapi(app_client: Client) -> dict[str, Any]:
    answer = app_client.http.get("/openapi.json")
    assert answer.status_code == 200
    return json.loads(answer.body)


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load(ASYNCAPI.read_text("utf-8"))


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def _resolve(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def msg_code_constants() -> dict[str, int]:
    return {name: value for name, value in vars(frames).items()
            if name.isupper() and isinstance(value, int) and not isinstance(value, bool)}


# (1) every route is documented


def test_every_route_is_in_the_openapi_document(openapi: dict[str, Any]) -> None:
    from app import app

    missing = []
    for path, methods in app.routes.items():
        if path in DOC_ROUTES:
            continue
        for method in methods:
            if method != "OPTIONS" and method.lower() not in openapi["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == [], f"routes without documentation (register them through endpoint(...)): {missing}"


def test_the_document_has_no_route_the_app_lacks(openapi: dict[str, Any]) -> None:
    from app import app

    for path, operations in openapi["paths"].items():
        assert path in app.routes, path
        assert {method.upper() for method in operations} <= set(app.routes[path]), path


# (2) valid OpenAPI 3.1, with the conventions of the wire


def test_the_document_is_valid_openapi_3_1(openapi: dict[str, Any]) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert openapi["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(openapi).iter_errors()]
    assert errors == []


def test_every_local_reference_resolves(openapi: dict[str, Any], asyncapi: dict[str, Any]) -> None:
    for root in (openapi, asyncapi):
        for node in _schemas(root):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                _resolve(root, ref)


def test_operations_follow_the_routes_specs(openapi: dict[str, Any]) -> None:
    from chalicelib.http.routing import ROUTES

    for spec in ROUTES:
        if spec.path in DOC_ROUTES:
            continue
        for method in spec.methods:
            operation = openapi["paths"][spec.path][method.lower()]
            assert operation["summary"] == spec.summary
            responses = operation["responses"]
            assert {"200", "413", "500", "503"} <= set(responses) and "429" not in responses
            assert ("401" in responses) is spec.auth
            if spec.auth:
                assert operation["security"] == [{"bearerAuth": []}, {"tokenQuery": []}]
            else:
                assert operation["security"] == []
            codes = {entry["code"] for entry in operation["x-business-codes"]}
            assert {1000, 429} <= codes and all(str(code) in operation["description"] for code in codes)
            success = responses["200"]["content"]["application/json"]["schema"]["anyOf"][0]
            if spec.response is not None:
                assert success["properties"]["data"] == spec.response
            path_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert path_names == {part[1:-1] for part in spec.path.split("/") if part.startswith("{")}
            properties = set((spec.schema or {}).get("properties", {})) - path_names
            if properties and method.upper() in ("POST", "PUT"):
                content = operation["requestBody"]["content"]
                assert "multipart/form-data" in content
                json_body = content.get("application/json")
                if json_body is not None:
                    assert set(json_body["schema"]["properties"]) == properties
                    assert "application/x-www-form-urlencoded" in content
            elif properties:
                query = {p["name"].removesuffix("[]") for p in operation["parameters"] if p["in"] == "query"}
                assert query == properties


def test_array_fields_are_name_brackets_in_form_encodings(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/groups/createOrRemoveUser"]["post"]
    content = operation["requestBody"]["content"]
    assert "select_user[]" in content["multipart/form-data"]["schema"]["properties"]
    urlencoded = content["application/x-www-form-urlencoded"]
    assert urlencoded["encoding"]["select_user[]"] == {"style": "form", "explode": True}
    assert "select_user[]" in urlencoded["schema"]["required"]
    assert content["application/json"]["schema"]["properties"]["select_user"]["type"] == "array"


def test_file_upload_is_multipart_binary(openapi: dict[str, Any]) -> None:
    content = openapi["paths"]["/upload/file"]["post"]["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    field = content["multipart/form-data"]["schema"]["properties"]["file"]
    assert field["format"] == "binary" and field["contentMediaType"] == "application/octet-stream"


def test_rate_limit_documents_retry_after(openapi: dict[str, Any]) -> None:
    """Rate limits are business code 429 inside an HTTP 200 answer, whose Retry-After header is documented."""
    answer = openapi["paths"]["/auth/login"]["post"]["responses"]["200"]
    assert answer["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert 429 in openapi["components"]["schemas"]["BusinessFailure"]["properties"]["code"]["enum"]


def test_servers_point_at_the_base_the_caller_reached(openapi: dict[str, Any]) -> None:
    assert openapi["servers"] == [{"url": "http://localhost"}]
    assert "servers" not in document()


def test_building_the_document_leaves_the_validation_schemas_untouched(openapi: dict[str, Any]) -> None:
    from chalicelib.api.groups import CHANGE
    from chalicelib.api.uploads import UPLOAD

    assert "select_user" in CHANGE["properties"] and "select_user[]" not in CHANGE["properties"]
    assert "contentMediaType" not in UPLOAD["properties"]["file"]


# (3) the documents are served, offline


def test_openapi_json_is_served(app_client: Client) -> None:
    answer = app_client.http.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")


def test_swagger_ui_page_uses_only_local_assets(app_client: Client) -> None:
    answer = app_client.http.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.body.decode("utf-8")
    assert "http://" not in page and "https://" not in page
    for asset in docs.ASSETS:
        assert f'"docs/{asset}?v=' in page
    assert 'url: "openapi.json"' in page


@pytest.mark.parametrize(("asset", "content_type"), [
    ("swagger-ui.css", "text/css"),
    ("swagger-ui-bundle.js", "text/javascript"),
    ("swagger-ui-standalone-preset.js", "text/javascript"),
])
def test_swagger_ui_assets_are_served_from_the_package(app_client: Client, asset: str, content_type: str) -> None:
    answer = app_client.http.get(f"/docs/{asset}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(content_type)
    assert "max-age=31536000" in answer.headers["Cache-Control"]
    assert len(answer.body) > 10_000


@pytest.mark.parametrize("asset", ["index.html", "swagger-ui.js.map", "..%2Fapp.py", "favicon-32x32.png"])
def test_unknown_assets_are_404(app_client: Client, asset: str) -> None:
    answer = app_client.http.get(f"/docs/{asset}")
    assert answer.status_code == 404
    assert json.loads(answer.body)["code"] == 404


# (4) the AsyncAPI document covers every msg_code


def _payload_codes(asyncapi: dict[str, Any]) -> set[int]:
    codes: set[int] = set()
    for message in asyncapi["components"]["messages"].values():
        payload = message["payload"]
        if "$ref" in payload:
            payload = _resolve(asyncapi, payload["$ref"])
        parts = [_resolve(asyncapi, part["$ref"]) if "$ref" in part else part for part in payload.get("allOf", [])]
        for part in [payload, *parts]:
            msg_code = part.get("properties", {}).get("msg_code", {})
            codes.update([msg_code["const"]] if "const" in msg_code else msg_code.get("enum", []))
    return codes


def test_every_msg_code_is_in_the_asyncapi_document(asyncapi: dict[str, Any]) -> None:
    assert str(asyncapi["asyncapi"]).startswith(("2.6", "3."))
    table = {entry["code"]: entry for entry in asyncapi["info"]["x-msg-codes"]}
    sent = _payload_codes(asyncapi)
    for name, code in msg_code_constants().items():
        assert code in table, f"frames.{name} = {code} is not in docs/asyncapi.yaml info.x-msg-codes"
        assert table[code]["constant"] == name
        if table[code]["direction"] != "none":
            assert code in sent, f"frames.{name} = {code} has no message payload in docs/asyncapi.yaml"


def test_asyncapi_documents_the_connect_token_and_replay(asyncapi: dict[str, Any]) -> None:
    channel = asyncapi["channels"]["socket"]
    assert channel["bindings"]["ws"]["query"]["required"] == ["token"]
    description = asyncapi["info"]["description"]
    assert "?token=" in description and "15 s" in description and "first frame" in description
    heartbeat = asyncapi["components"]["messages"]["Heartbeat"]["examples"][0]["payload"]
    assert heartbeat == {"msg_code": frames.HEARTBEAT, "message": "ping"}


def test_frame_builders_match_their_documented_payloads(asyncapi: dict[str, Any]) -> None:
    """Every field a builder puts in a frame is a documented property of that frame's payload."""
    user = {"id": 1, "name": "a", "avatar": ""}
    message = {"msg_id": 1, "msg_client_id": 1, "form_id": 1, "to_id": 2, "msg_type": 1, "channel_type": 1,
               "message": "m", "data": "", "send_time": "", "id": 1}
    record = {"id": 1, "form_id": 1, "to_id": 2, "status": 0, "created_at": "", "information": ""}
    built = {
        "Error": frames.error_frame("x"),
        "ChatPrivate": frames.chat(message, user),
        "FriendRequestEvent": frames.friend_event(frames.FRIEND_REQUEST, record, user),
        "FriendRemoved": frames.friend_removed(user),
        "MessageRecalled": frames.recalled(message, 1),
        "VideoSignal": frames.video({"form_id": 1, "to_id": 2, "message": "", "send_time": "", "users": user,
                                     "type": "invite", "data": ""}),
        "SessionCreated": frames.session_created({}),
    }
    schemas = asyncapi["components"]["schemas"]
    schemas = {**schemas, "Error": asyncapi["components"]["messages"]["Error"]["payload"]}
    for name, frame in built.items():
        schema = schemas[name]
        parts = [_resolve(asyncapi, part["$ref"]) if "$ref" in part else part for part in schema.get("allOf", [schema])]
        documented = set().union(*(part.get("properties", {}) for part in parts))
        assert set(frame) <= documented, (name, set(frame) - documented)


# (5) schemas are consistent


def test_required_fields_exist_in_properties(openapi: dict[str, Any], asyncapi: dict[str, Any]) -> None:
    for root in (openapi, asyncapi):
        for schema in _schemas(root):
            required = schema.get("required")
            if isinstance(required, list):
                properties = schema.get("properties")
                assert isinstance(properties, dict), schema
                assert set(required) <= set(properties), (set(required) - set(properties), schema)

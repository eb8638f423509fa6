"""The OpenAPI 3.1 document, derived from `ROUTES`: the same RouteSpecs (and schema dicts) the routes validate with.

Nothing here is a second description of the API: paths, methods, parameters, bodies and response data come from
`endpoint(...)` registrations. The document is built on first use and cached; each request only adds `servers`.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from chalicelib.errors import (
    BAD_REQUEST,
    FORBIDDEN_RELATION,
    INTERNAL,
    RATE_LIMITED,
    SERVICE_BUSY,
    UNAUTHORIZED,
    UPSTREAM_FAILURE,
)
from chalicelib.http.routing import ROUTES, RouteSpec
from chalicelib.http.schema import Schema

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
TITLE = "Philatelic IM API"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
PATH_PARAM = re.compile(r"\{([^}+]+)\+?\}")
# The documentation routes themselves (chalicelib/api/docs.py) are left out of the document.
UNDOCUMENTED_TAGS = frozenset({"docs"})
PAYLOAD_TOO_LARGE = 413

BUSINESS_CODES: dict[int, str] = {
    BAD_REQUEST: "bad parameter, not found or conflicting state",
    UPSTREAM_FAILURE: "an upstream service failed (e.g. the email could not be sent)",
    FORBIDDEN_RELATION: "the relation between you and the target forbids it (not friends, not a member, not the owner)",
    RATE_LIMITED: "rate limited: `message` says how long to wait, the `Retry-After` header gives the seconds",
}
BUSINESS_FAILURE_REF = "#/components/schemas/BusinessFailure"
PUBLIC_BUSINESS_CODES = (BAD_REQUEST, UPSTREAM_FAILURE, RATE_LIMITED)
AUTH_BUSINESS_CODES = (BAD_REQUEST, UPSTREAM_FAILURE, FORBIDDEN_RELATION, RATE_LIMITED)

DESCRIPTION = """\
HTTP API of the Philatelic instant-messaging backend, generated from the routes' own request schemas.

**Envelope.** Every JSON answer is `{"code": int, "message": str, "data": any}`. Success is `code` 200 with
`message` "Success" and `data` `{}` when there is nothing to return (never null). Business failures are
**HTTP 200** with a business code in `code`: 1000 bad parameter / not found / conflict, 1001 upstream failure,
1003 the relation forbids it, 429 rate limited (with a `Retry-After` header and the wait in `message`: the web
client shows `message` only for HTTP 200 answers). Bad or missing tokens answer HTTP 401 (`code` 401), bodies
over the limit HTTP 413, internal errors HTTP 500 (`code` 500), and AWS throttling that outlasted the app's
retries HTTP 503 (`code` 503) with a `Retry-After` header (sends can be repeated safely: they are idempotent on
`msg_client_id`).

**Bodies.** Every POST/PUT accepts `multipart/form-data`, `application/x-www-form-urlencoded` and
`application/json` (file uploads: multipart only). Form values are text, converted strictly to the declared type
("12abc" is not an integer): an integer in a body, a query string or a path is ASCII digits only, with a leading
`-` only where the field's minimum allows it (no `+`, no spaces). A urlencoded body must be UTF-8, `%`-escapes
included. Array fields are repeated `name[]` fields in form encodings and in the query string,
and a JSON array under `name` in JSON.

**Auth.** `Authorization: Bearer <jwt>` or `?token=<jwt>` (HS256, from `POST /auth/login`).

**Real time.** The WebSocket protocol (connect with `?token=`, frames by `msg_code`) is described by the AsyncAPI
document `docs/asyncapi.yaml` in the repository.
"""

_document: dict[str, Any] | None = None


def _envelope_schema(code: Schema, message: Schema, data: Schema) -> Schema:
    return {"type": "object", "required": ["code", "message", "data"],
            "properties": {"code": code, "message": message, "data": data}}


def _components() -> dict[str, Any]:
    def failure(code: int, description: str) -> Schema:
        return _envelope_schema({"type": "integer", "const": code}, {"type": "string", "description": description},
                                {"type": "object", "maxProperties": 0})

    def answer(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        response: dict[str, Any] = {"description": description, "content": content}
        if headers:
            response["headers"] = headers
        return response

    return {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "`Authorization: Bearer <jwt>` with the token from POST /auth/login"},
            "tokenQuery": {"type": "apiKey", "in": "query", "name": "token",
                           "description": "the same JWT as a `token` query parameter (what browsers use for links)"},
        },
        "schemas": {
            "BusinessFailure": _envelope_schema(
                {"type": "integer", "enum": sorted(BUSINESS_CODES),
                 "description": "; ".join(f"{code}: {meaning}" for code, meaning in sorted(BUSINESS_CODES.items()))},
                {"type": "string", "description": "a specific, human-readable explanation"},
                {"type": "object", "maxProperties": 0}),
            "Unauthorized": failure(UNAUTHORIZED, "why the token was refused"),
            "PayloadTooLarge": failure(PAYLOAD_TOO_LARGE, "the limit that was exceeded"),
            "InternalError": failure(INTERNAL, "a generic message; no internals are disclosed"),
            "ServiceBusy": failure(SERVICE_BUSY, "the service is busy; retry after `Retry-After` seconds"),
        },
        "headers": {
            "Retry-After": {"description": "seconds to wait before retrying: present on business code 429 (HTTP 200) "
                                           "and on HTTP 503", "schema": {"type": "integer", "minimum": 1}},
        },
        "responses": {
            "Unauthorized": answer("missing, malformed, expired or revoked token", "Unauthorized"),
            "PayloadTooLarge": answer("the request body is larger than the route's limit", "PayloadTooLarge"),
            "InternalError": answer("unexpected failure", "InternalError"),
            "ServiceBusy": answer("AWS throttling outlasted the app's retries; retry after `Retry-After` seconds",
                                  "ServiceBusy",
                                  {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}),
        },
    }


def _is_file(schema: Schema) -> bool:
    return schema.get("type") == "string" and schema.get("format") == "binary"


def _is_array(schema: Schema) -> bool:
    return schema.get("type") == "array"


def _parameter(name: str, location: str, schema: Schema, required: bool) -> dict[str, Any]:
    doc_schema = copy.deepcopy(schema)
    parameter: dict[str, Any] = {"name": name, "in": location, "required": required, "schema": doc_schema}
    if "description" in doc_schema:
        parameter["description"] = doc_schema["description"]
    if location == "query" and _is_array(schema):
        parameter.update(name=f"{name}[]", style="form", explode=True)
    return parameter


def _form_schema(properties: dict[str, Schema], required: list[str]) -> tuple[Schema, dict[str, Any]]:
    """The body as form fields: arrays are the repeated field `name[]`, files are binary parts."""
    fields: dict[str, Schema] = {}
    encoding: dict[str, Any] = {}
    for name, prop in properties.items():
        doc_prop = copy.deepcopy(prop)
        if _is_file(prop):
            doc_prop.setdefault("contentMediaType", "application/octet-stream")
            fields[name] = doc_prop
        elif _is_array(prop):
            fields[f"{name}[]"] = doc_prop
            encoding[f"{name}[]"] = {"style": "form", "explode": True}
        else:
            fields[name] = doc_prop
    renamed = [f"{name}[]" if _is_array(properties[name]) else name for name in required if name in properties]
    schema: Schema = {"type": "object", "properties": fields}
    if renamed:
        schema["required"] = renamed
    return schema, encoding


def _request_body(properties: dict[str, Schema], required: list[str]) -> dict[str, Any]:
    form, encoding = _form_schema(properties, required)
    has_file = any(_is_file(prop) for prop in properties.values())
    content: dict[str, Any] = {"multipart/form-data": {"schema": form}}
    if not has_file:
        urlencoded: dict[str, Any] = {"schema": copy.deepcopy(form)}
        if encoding:
            urlencoded["encoding"] = encoding
        content["application/x-www-form-urlencoded"] = urlencoded
        json_schema: Schema = {"type": "object", "properties": copy.deepcopy(properties)}
        if required:
            json_schema["required"] = list(required)
        content["application/json"] = {"schema": json_schema}
    arrays = [name for name, prop in properties.items() if _is_array(prop)]
    note = ("Form encodings send each element of an array as a repeated `name[]` field "
            f"({', '.join(f'`{name}[]`' for name in arrays)}); JSON sends an array under the plain name."
            if arrays else "Form values are text, converted strictly to the declared types.")
    if has_file:
        note = "multipart/form-data only: the file is a binary part. " + note
    return {"required": bool(required), "description": note, "content": content}


def _success(spec: RouteSpec) -> dict[str, Any]:
    data: Schema = copy.deepcopy(spec.response) if spec.response else {
        "description": "the route's result; `{}` when there is nothing to return"}
    success = _envelope_schema({"type": "integer", "const": 200}, {"type": "string", "const": "Success"}, data)
    return {
        "description": "`code` 200 with the result in `data`, or a business failure (HTTP 200, `code` "
                       "1000/1001/1003/429)",
        "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        "content": {"application/json": {"schema": {"anyOf": [success, {"$ref": BUSINESS_FAILURE_REF}]}}},
    }


def _operation_id(method: str, path: str, taken: set[str]) -> str:
    base = f"{method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') or 'root'}"
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def _operation(spec: RouteSpec, method: str, max_body: int, alias_of: str | None, taken: set[str]) -> dict[str, Any]:
    schema = spec.schema or {"type": "object", "properties": {}}
    properties: dict[str, Schema] = dict(schema.get("properties", {}))
    required: list[str] = list(schema.get("required", ()))
    parameters = []
    for name in PATH_PARAM.findall(spec.path):
        parameters.append(_parameter(name, "path", properties.pop(name, {"type": "string"}), True))
    required = [name for name in required if name in properties]
    operation: dict[str, Any] = {"operationId": _operation_id(method, spec.path, taken), "summary": spec.summary,
                                 "tags": list(spec.tags)}
    if properties and method in BODY_METHODS:
        operation["requestBody"] = _request_body(properties, required)
    elif properties:
        parameters.extend(_parameter(name, "query", prop, name in required) for name, prop in properties.items())
    if parameters:
        operation["parameters"] = parameters
    codes = AUTH_BUSINESS_CODES if spec.auth else PUBLIC_BUSINESS_CODES
    lines = [spec.summary + ".", ""]
    if alias_of:
        lines += [f"Seed alias: answers exactly like `{alias_of}`.", ""]
    lines += ["Business codes (HTTP 200, envelope `code`):"]
    lines += [f"- `{code}`: {BUSINESS_CODES[code]}" for code in codes]
    lines += ["", f"Request bodies over {max_body} bytes are refused with HTTP 413."]
    operation["description"] = "\n".join(lines)
    operation["x-business-codes"] = [{"code": code, "http_status": 200, "meaning": BUSINESS_CODES[code]}
                                     for code in codes]
    operation["x-max-body-bytes"] = max_body
    responses: dict[str, Any] = {"200": _success(spec)}
    if spec.auth:
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
        operation["security"] = [{"bearerAuth": []}, {"tokenQuery": []}]
    else:
        operation["security"] = []
    for status, description in spec.other_statuses:
        responses[str(status)] = {"description": description}
    responses["413"] = {"$ref": "#/components/responses/PayloadTooLarge"}
    responses["500"] = {"$ref": "#/components/responses/InternalError"}
    responses["503"] = {"$ref": "#/components/responses/ServiceBusy"}
    operation["responses"] = responses
    return operation


def _alias_of(spec: RouteSpec, earlier: list[RouteSpec]) -> str | None:
    """`endpoint(aliases=...)` registers the main path first, then each alias with the same schema and summary."""
    for other in earlier:
        if other.path != spec.path and other.summary == spec.summary and other.schema is spec.schema \
                and other.methods == spec.methods:
            return f"{'/'.join(other.methods)} {other.path}"
    return None


def build_document(routes: Iterable[RouteSpec], default_max_body: int) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    taken: set[str] = set()
    seen: list[RouteSpec] = []
    for spec in routes:
        if UNDOCUMENTED_TAGS & set(spec.tags):
            continue
        alias_of = _alias_of(spec, seen)
        seen.append(spec)
        item = paths.setdefault(spec.path, {})
        for method in spec.methods:
            key = method.lower()
            if key not in item:
                item[key] = _operation(spec, method.upper(), spec.max_body or default_max_body, alias_of, taken)
        tags.extend(tag for tag in spec.tags if tag not in tags)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": _components(),
    }


def document(base_url: str | None = None) -> dict[str, Any]:
    """The cached document, with `servers` pointing at the API base the caller reached."""
    global _document
    if _document is None:
        from chalicelib.config import get_settings

        _document = build_document(ROUTES, get_settings().max_body_bytes)
    if not base_url:
        return _document
    return {**_document, "servers": [{"url": base_url}]}

"""The response envelope `{"code", "message", "data"}` every route answers with."""
from __future__ import annotations

import json
from typing import Any

from chalice import Response

SUCCESS = 200
JSON_TYPE = "application/json; charset=utf-8"


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {} if data is None else data}


def success(data: Any = None, headers: dict[str, str] | None = None) -> Response:
    return json_response(envelope(SUCCESS, "Success", data), 200, headers)


def failure(code: int, message: str, http_status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(envelope(code, message), http_status, headers)


def json_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body=to_json(body), status_code=status, headers={"Content-Type": JSON_TYPE, **(headers or {})})

"""Inputs that once answered 500 on every body route: deep JSON, >256 urlencoded fields, lone surrogates (item 5)."""
from __future__ import annotations

import json
import re

import pytest

import app  # noqa: F401  (registering the blueprints fills ROUTES)
from chalicelib.http.routing import ROUTES
from chalicelib.ws import handlers
from tests.support.factories import register, ws_event

BODY_ROUTES = sorted({(method, spec.path, id(spec)) for spec in ROUTES for method in spec.methods
                      if method in ("POST", "PUT") and spec.schema is not None}, key=lambda route: route[:2])
DEEP = b'{"name":' + b"[" * 20_000 + b"]" * 20_000 + b"}"
MANY_FIELDS = b"&".join(b"field%d=x" % index for index in range(300))
SPECS = {id(spec): spec for spec in ROUTES}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def item_count() -> int:
    from chalicelib.db.models import Item

    return sum(1 for _ in Item.scan())  # a test's own census of the table, never done by the app


def surrogate_body(schema: dict) -> bytes:
    """Every string field holds a lone surrogate; other fields get plausible values, so validation reaches them."""
    plausible = {"integer": 1, "array": [1]}
    fields = {name: "\ud800" if prop.get("type") == "string" else plausible.get(prop.get("type"), 1)
              for name, prop in schema.get("properties", {}).items()
              if prop.get("format") != "binary" and "enum" not in prop}
    fields.update({name: prop["enum"][0] for name, prop in schema.get("properties", {}).items() if "enum" in prop})
    return json.dumps(fields).encode()


def takes_text(schema: dict) -> bool:
    properties = schema.get("properties", {})
    return any(prop.get("type") == "string" and prop.get("format") != "binary" for prop in properties.values()) \
        and not any(properties[name].get("format") == "binary" for name in schema.get("required", ()))


@pytest.mark.parametrize("method, path, spec_id", BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_hostile_bodies_get_a_clear_1000_and_store_nothing(client, method, path, spec_id):
    user = register(client)
    before = item_count()
    auth = {"authorization": f"Bearer {user['token']}"}
    shapes = [
        ({"content-type": "application/json"}, DEEP, "request body is nested too deeply"),
        ({"content-type": "application/x-www-form-urlencoded"}, MANY_FIELDS, "form body has more than 256 fields"),
        ({"content-type": "application/x-www-form-urlencoded"}, b"name=%ff%fe&id=1", "form body must be UTF-8"),
        ({"content-type": "application/json"}, surrogate_body(SPECS[spec_id].schema), "lone surrogate"),
    ]
    for headers, body, message in shapes:
        answer = getattr(client.http, method.lower())(concrete(path), headers={**headers, **auth}, body=body)
        assert answer.status_code == 200, (path, message, answer.body[:200])
        envelope = answer.json_body
        if message == "lone surrogate" and not takes_text(SPECS[spec_id].schema):
            assert envelope["code"] != 500, (path, envelope)  # no text field: plausible values may succeed
            continue
        assert envelope["code"] == 1000 and message in envelope["message"], (path, envelope)
        assert item_count() == before, (path, message)


def test_a_lone_surrogate_in_a_query_string_is_refused(client):
    user = register(client)
    answer = client.http.get("/friends/userQuery?name=%ED%A0%80", headers={"authorization": f"Bearer {user['token']}"})
    assert answer.status_code == 200 and answer.json_body["code"] in (200, 1000)


def test_a_deeply_nested_frame_gets_the_error_frame(client, sender):
    user = register(client)
    assert handlers.connect(ws_event("$connect", "c-deep", query={"token": user["token"]}))["statusCode"] == 200
    frame = '{"msg_code":' + "[" * 10_000 + "]" * 10_000 + "}"
    assert len(frame) < handlers.MAX_FRAME_BYTES
    assert handlers.message(ws_event("$default", "c-deep", body=frame)) == {"statusCode": 200}
    (reply,) = sender.frames_for("c-deep")
    assert reply["msg_code"] == 500 and "malformed frame" in reply["message"]

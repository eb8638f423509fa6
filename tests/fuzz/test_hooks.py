"""The harness's own logic, without a stack: the data-change diff, error detection, id mapping, known issues."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from infra.fuzz import hooks


def _response(status: int, body: object, method: str = "GET") -> SimpleNamespace:
    return SimpleNamespace(status_code=status, content=json.dumps(body).encode(),
                           request=SimpleNamespace(method=method))


@pytest.mark.parametrize(("status", "body", "error"), [
    (200, {"code": 200, "message": "Success", "data": {}}, False),
    (200, {"code": 1000, "message": "not found", "data": {}}, True),
    (200, {"code": 1003, "message": "not a member", "data": {}}, True),
    (401, {"code": 401, "message": "bad token", "data": {}}, True),
    (302, None, False),
    (404, {"code": 404, "message": "file not found", "data": {}}, True),
])
def test_is_error_reads_the_status_and_the_envelope(status: int, body: object, error: bool) -> None:
    assert hooks.is_error(_response(status, body)) is error


def test_is_error_on_a_non_json_body() -> None:
    assert hooks.is_error(SimpleNamespace(status_code=200, content=b"\x89PNG")) is False
    assert hooks.is_error(SimpleNamespace(status_code=501, content=b"<html>")) is True


def test_describe_change_names_added_removed_and_changed_items() -> None:
    before = {("USER#2", "PROFILE"): "a", ("GROUP#3", "META"): "b", ("COUNTER#user", "COUNTER"): "c"}
    after = {("USER#2", "PROFILE"): "a", ("GROUP#3", "META"): "B", ("CONV#P#2#3", "MSG#1"): "d"}
    change = hooks.describe_change(before, after)
    assert change is not None
    assert "added: CONV#P#2#3/MSG#1" in change
    assert "removed: COUNTER#user/COUNTER" in change
    assert "changed: GROUP#3/META" in change
    assert hooks.describe_change(before, dict(before)) is None


def test_ids_are_mapped_onto_seeded_ids_for_even_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUZZ_IDS", json.dumps([2, 3, 7]))
    hooks._known_ids.cache_clear()
    try:
        mapped = hooks._map_ids({"id": 4, "to_id": 5, "message": 6, "select_user": [0, 1, True], "serverIds[]": [2]})
    finally:
        hooks._known_ids.cache_clear()
    assert mapped == {"id": 7, "to_id": 5, "message": 6, "select_user": [2, 1, True], "serverIds[]": [3]}


def test_known_issues_are_filtered_unless_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    issue = hooks.KnownIssue("example", "GET", "/files/{owner}/{name}", frozenset({"ST103"}), frozenset({404}),
                             "an example entry", lambda case: case.path_parameters.get("owner") == 1)
    monkeypatch.setattr(hooks, "KNOWN_ISSUES", (issue,))
    monkeypatch.delenv("FUZZ_STRICT", raising=False)
    operation = SimpleNamespace(path="/files/{owner}/{name}")
    mine = SimpleNamespace(method="GET", operation=operation, path_parameters={"owner": 1})
    other = SimpleNamespace(method="GET", operation=operation, path_parameters={"owner": 2})
    undocumented = SimpleNamespace(code="ST103")
    assert hooks.filter_failure(None, undocumented, mine, _response(404, {"code": 404})) is False
    assert hooks.filter_failure(None, undocumented, other, _response(404, {"code": 404})) is True
    assert hooks.filter_failure(None, undocumented, mine, _response(418, {"code": 418})) is True
    assert hooks.filter_failure(None, SimpleNamespace(code="ST101"), mine, _response(500, {"code": 500})) is True
    monkeypatch.setenv("FUZZ_STRICT", "1")
    assert hooks.filter_failure(None, undocumented, mine, _response(404, {"code": 404})) is True


def test_every_hostile_shape_is_sent_in_turn() -> None:
    sent = []
    for _ in range(hooks.HOSTILE_EVERY * len(hooks.HOSTILE_SHAPES)):
        case = SimpleNamespace(body={"name": "x", "to_id": 3}, media_type="multipart/form-data")
        shape = hooks.make_hostile(case)
        if shape:
            sent.append((shape, case.media_type, case.body))
    assert sorted(name for name, _, _ in sent) == sorted(name for name, _, _ in hooks.HOSTILE_SHAPES)
    bodies = {name: body for name, _, body in sent}
    assert json.loads(bodies["lone surrogates"]) == {"name": "\ud800x", "to_id": 3}
    assert bodies["over 256 urlencoded fields"].count(b"&") == 299
    assert bodies["deeply nested JSON"].count(b"[") == hooks.NESTING_DEPTH < 64 * 1024 // 2
    assert hooks.make_hostile(SimpleNamespace(body=None, media_type=None)) is None

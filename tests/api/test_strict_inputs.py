"""Loose inputs the attack run found (issue 26, items 3 and 4): urlencoded bytes that are not UTF-8, and integers in
paths and query strings that carry a sign, spaces or non-ASCII digits. Each is a clear 1000 that changes nothing."""
from __future__ import annotations

import pytest

from tests.api.test_hostile_bodies import item_count
from tests.support.factories import get, post_form, register

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_an_urlencoded_body_that_is_not_utf8_is_refused_and_stores_nothing(client):
    user = register(client)
    before = item_count()
    answer = client.http.post("/server_groups/createServer", body=b"name=%ff%fe&id=1",
                              headers={**FORM, "authorization": f"Bearer {user['token']}"})
    assert answer.status_code == 200
    assert answer.json_body == {"code": 1000, "message": "form body must be UTF-8", "data": {}}
    assert item_count() == before
    listed = post_form(client, "/server_groups/getServerListPage", {}, user["token"]).json_body
    assert listed["code"] == 200 and not listed["data"]["servers"], listed


def test_an_urlencoded_name_with_utf8_escapes_is_kept(client):
    user = register(client)
    answer = client.http.post("/server_groups/createServer", body=b"name=%E9%82%AE%E7%A5%A8",
                              headers={**FORM, "authorization": f"Bearer {user['token']}"}).json_body
    assert answer["code"] == 200 and answer["data"]["name"] == "邮票"


@pytest.mark.parametrize("text", ["+1", " 1", "1 ", "%201", "1%0A", "%2B1", "1.0", "0x1", "1_0", "%D9%A1", "--1"])
def test_a_path_integer_is_digits_only(client, text):
    user = register(client)
    answer = get(client, f"/user/{text}", user["token"])
    assert answer.status_code == 200
    assert answer.json_body == {"code": 1000, "message": "id must be an integer", "data": {}}


def test_a_negative_path_integer_is_refused_by_the_field_minimum(client):
    user = register(client)
    answer = get(client, "/user/-1", user["token"]).json_body
    assert answer == {"code": 1000, "message": "id must be at least 1", "data": {}}
    assert get(client, f"/user/{user['id']}", user["token"]).json_body["code"] == 200
    assert get(client, f"/user/000{user['id']}", user["token"]).json_body["code"] == 200


@pytest.mark.parametrize("text", ["+20", " 20", "20 ", "２０"])
def test_a_query_integer_is_digits_only(client, text):
    user = register(client)
    answer = get(client, "/messages", user["token"], to_id=1, pageSize=text).json_body
    assert answer == {"code": 1000, "message": "pageSize must be an integer", "data": {}}


def test_a_body_integer_is_digits_only(client):
    user = register(client)
    for text in ("+1", " 1", "1\n"):
        answer = post_form(client, "/sessions", {"id": text, "type": 1}, user["token"]).json_body
        assert answer == {"code": 1000, "message": "id must be an integer", "data": {}}, text

"""GET /user/{id}, token handling (401s), unknown routes, CORS."""
from __future__ import annotations

import time

import jwt
import pytest

from tests.support.factories import get, register

SECRET = "test-jwt-secret-0123456789abcdef0123456789"


def claims(**overrides):
    now = int(time.time())
    payload = {"id": 2, "uid": "u", "name": "n", "expire_time": now + 3600, "exp": now + 3600, "iat": now,
               "nbf": now, "iss": "Im-Services", "jti": "j1"}
    payload.update(overrides)
    return payload


def test_profile_of_self_shows_email(client):
    me = register(client)
    answer = get(client, f"/user/{me['id']}", me["token"]).json_body
    assert answer["code"] == 200
    assert answer["data"]["email"] == me["email"]
    assert set(answer["data"]) == {"id", "name", "email", "avatar", "status", "bio", "sex", "age",
                                   "last_login_time", "uid"}


def test_profile_of_another_user_hides_email(client):
    me, other = register(client), register(client)
    data = get(client, f"/user/{other['id']}", me["token"]).json_body["data"]
    assert data["id"] == other["id"] and data["email"] == ""


def test_token_in_query_string_works(client):
    me = register(client)
    assert client.http.get(f"/user/{me['id']}?token={me['token']}").json_body["code"] == 200


@pytest.mark.parametrize("path, message", [
    ("/user/999999", "user does not exist"),
    ("/user/abc", "id must be an integer"),
    ("/user/12abc", "id must be an integer"),
    ("/user/0", "id must be at least 1"),
])
def test_profile_bad_ids(client, path, message):
    me = register(client)
    assert get(client, path, me["token"]).json_body == {"code": 1000, "message": message, "data": {}}


@pytest.mark.parametrize("token, message", [
    (None, "missing token"),
    ("not-a-jwt", "invalid token"),
    (jwt.encode(claims(exp=int(time.time()) - 60, expire_time=1), SECRET, algorithm="HS256"), "token has expired"),
    (jwt.encode(claims(), "another-secret-0123456789abcdef012345", algorithm="HS256"), "invalid token"),
    (jwt.encode(claims(), None, algorithm="none"), "invalid token"),
    (jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"), "invalid token"),
    (jwt.encode(claims(id="2"), SECRET, algorithm="HS256"), "invalid token"),
    (jwt.encode(claims(nbf=int(time.time()) + 3600), SECRET, algorithm="HS256"), "token is not valid yet"),
    (jwt.encode({k: v for k, v in claims().items() if k != "jti"}, SECRET, algorithm="HS256"), "invalid token"),
    (jwt.encode(claims(ep="0"), SECRET, algorithm="HS256"), "invalid token"),
])
def test_bad_tokens_answer_401(client, token, message):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = client.http.get("/user/2", headers=headers)
    assert answer.status_code == 401
    assert answer.json_body["code"] == 401 and answer.json_body["message"].startswith(message)
    assert answer.json_body["data"] == {}


def test_bearer_prefix_is_optional(client):
    me = register(client)
    assert client.http.get(f"/user/{me['id']}", headers={"authorization": me["token"]}).json_body["code"] == 200


def test_cors_echoes_only_allowed_origins(client):
    me = register(client)
    allowed = client.http.get(f"/user/{me['id']}", headers={"authorization": f"Bearer {me['token']}",
                                                            "origin": "https://chat.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://chat.example.com"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    other = client.http.get(f"/user/{me['id']}", headers={"authorization": f"Bearer {me['token']}",
                                                          "origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_preflight_routes_exist_for_every_path():
    from app import app

    assert all("OPTIONS" in methods for methods in app.routes.values())


def test_internal_errors_never_leak_details(client, monkeypatch):
    from chalicelib.db.models import Item

    me = register(client)

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals: table xyz")

    monkeypatch.setattr(Item, "get", broken)  # a library method, standing in for an AWS outage
    answer = get(client, f"/user/{me['id']}", me["token"])
    assert answer.status_code == 500
    assert answer.json_body == {"code": 500, "message": "internal error, please retry later", "data": {}}

"""Login throttling per (address, source) and per source, an address-wide pace, counted before bcrypt (item 4)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest

from chalicelib.db import keys
from chalicelib.db.models import Throttle
from chalicelib.errors import InvalidInput, RateLimited
from chalicelib.services import auth
from tests.support.factories import from_source, post_form, random_email, register


def attempt(client, user, password, source="127.0.0.1"):
    with from_source(client, source):
        return post_form(client, "/auth/login", {"email": user["email"], "password": password})


@pytest.fixture
def bcrypt_checks(monkeypatch):
    """Counts bcrypt checks (the costly step the throttle must gate)."""
    counted = []
    lock = threading.Lock()
    real = bcrypt.checkpw

    def counting(password, hashed):
        with lock:
            counted.append(1)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return counted


def test_failures_from_one_source_never_lock_the_owner_out_from_another(client):
    user = register(client)
    for _ in range(5):
        assert attempt(client, user, "wrong-pass", "203.0.113.7").json_body["code"] == 1000
    refused = attempt(client, user, user["password"], "203.0.113.7")
    assert refused.json_body["code"] == 429 and "from your network" in refused.json_body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    owner = attempt(client, user, user["password"], "198.51.100.20").json_body
    assert owner["code"] == 200 and owner["data"]["id"] == user["id"]


def test_x_forwarded_for_is_not_trusted(client):
    user = register(client)
    for _ in range(5):
        with from_source(client, "203.0.113.8"):
            post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"})
    with from_source(client, "203.0.113.8"):
        spoofed = client.http.post("/auth/login", headers={"content-type": "application/x-www-form-urlencoded",
                                                           "x-forwarded-for": "198.51.100.1"},
                                   body=f"email={user['email']}&password={user['password']}".encode())
    assert spoofed.json_body["code"] == 429


def test_one_source_is_limited_across_addresses(client):
    for _ in range(30):
        assert attempt(client, {"email": random_email()}, "wrong-pass", "203.0.113.9").json_body["code"] == 1000
    refused = attempt(client, {"email": random_email()}, "wrong-pass", "203.0.113.9").json_body
    assert refused["code"] == 429 and "from your network" in refused["message"]


def test_an_address_under_attack_from_many_sources_is_slowed_not_locked(client):
    user = register(client)  # its login is the address's first attempt of the window
    for index in range(19):
        assert attempt(client, user, "wrong-pass", f"192.0.2.{index + 1}").json_body["code"] == 1000
    slowed = attempt(client, user, user["password"], "198.51.100.30")
    assert slowed.json_body["code"] == 429 and "many login attempts" in slowed.json_body["message"]
    assert 1 <= int(slowed.headers["Retry-After"]) <= 10
    window = int(time.time() // 900)
    item = Throttle.get(keys.throttle_pk("login-address", user["email"], window), keys.THROTTLE_SK)
    item.update(actions=[Throttle.next_at.set(time.time() - 1)])  # the 10 s pause has passed
    assert attempt(client, user, user["password"], "198.51.100.30").json_body["code"] == 200


def test_a_success_clears_the_failures_of_its_source(client):
    user = register(client)
    for _ in range(2):
        for _ in range(4):
            attempt(client, user, "wrong-pass")
        assert attempt(client, user, user["password"]).json_body["code"] == 200


def test_fifty_parallel_wrong_logins_get_at_most_five_bcrypt_checks(client, bcrypt_checks):
    user = register(client)
    bcrypt_checks.clear()

    def wrong(_):
        try:
            auth.login(user["email"], "wrong-pass", "203.0.113.50")
        except (InvalidInput, RateLimited) as outcome:
            return type(outcome).__name__
        return "logged in"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(wrong, range(50)))
    assert len(bcrypt_checks) <= 5
    assert outcomes.count("InvalidInput") == len(bcrypt_checks)
    assert outcomes.count("RateLimited") == 50 - len(bcrypt_checks)


def test_retrying_while_slowed_down_never_locks_the_owner_out(client):
    user = register(client)
    for index in range(19):
        attempt(client, user, "wrong-pass", f"192.0.2.{index + 1}")
    for _ in range(10):  # the owner's client keeps retrying while the address is slowed
        assert attempt(client, user, user["password"], "198.51.100.40").json_body["code"] == 429
    window = int(time.time() // 900)
    item = Throttle.get(keys.throttle_pk("login-address", user["email"], window), keys.THROTTLE_SK)
    item.update(actions=[Throttle.next_at.set(time.time() - 1)])
    assert attempt(client, user, user["password"], "198.51.100.40").json_body["code"] == 200

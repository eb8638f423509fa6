"""Login throttling per (address, source) and per source, an address-wide pace, counted before bcrypt (item 4)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.models import Throttle
from chalicelib.errors import InvalidInput, RateLimited
from chalicelib.services import auth
from tests.support.factories import from_source, post_form, random_email, register


def attempt(client, user, password, source="127.0.0.1"):
    with from_source(client, source):
        return post_form(client, "/auth/login", {"email": user["email"], "password": password})


@pytest.fixture(autouse=True)
def from_a_window_start(monkeypatch):
    """The counts are per fixed 15-minute window (chalicelib/db/throttles.py): each test's clock starts at the
    current window's start, so a slow run never crosses into the next window half-way through a test."""
    window = 900
    started, real = time.time(), clock.now
    start = started // window * window
    monkeypatch.setattr(clock, "now", lambda: start + (real() - started))


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
    window = int(clock.now() // 900)
    item = Throttle.get(keys.throttle_pk("login-address", user["email"], window), keys.THROTTLE_SK)
    item.update(actions=[Throttle.next_at.set(clock.now() - 1)])  # the 10 s pause has passed
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
    window = int(clock.now() // 900)
    item = Throttle.get(keys.throttle_pk("login-address", user["email"], window), keys.THROTTLE_SK)
    item.update(actions=[Throttle.next_at.set(clock.now() - 1)])
    assert attempt(client, user, user["password"], "198.51.100.40").json_body["code"] == 200


def wrong_logins_from_new_sources(user, count, first=0):
    for index in range(first, first + count):
        try:
            auth.login(user["email"], "wrong-pass", f"192.0.{2 + index // 250}.{index % 250 + 1}")
        except (InvalidInput, RateLimited):
            pass


def test_a_persistent_attack_never_paces_a_source_that_logged_in_before(client):
    """The attack run's item 2: 25 wrong logins from random sources, then wrong logins from a new source each, without
    end (here from two threads); the owner's correct password from the network it logged in from before gets in at
    the first try, every time, while a source that never logged in to the account stays paced."""
    user = register(client)
    owner_network = "198.51.100.77"
    assert attempt(client, user, user["password"], owner_network).json_body["code"] == 200  # the owner's usual network
    wrong_logins_from_new_sources(user, 25)
    stranger = attempt(client, user, user["password"], "198.51.100.99")
    assert stranger.json_body["code"] == 429 and "many login attempts" in stranger.json_body["message"]

    stop = threading.Event()
    tried = []
    lock = threading.Lock()

    def attacker(offset):
        index = 1000 * offset
        while not stop.is_set():
            wrong_logins_from_new_sources(user, 1, index)
            with lock:
                tried.append(index)
            index += 1
            time.sleep(0.02)

    with ThreadPoolExecutor(max_workers=2) as pool:
        running = [pool.submit(attacker, offset) for offset in (1, 2)]
        try:
            for _ in range(4):
                before = len(tried)
                owner = attempt(client, user, user["password"], owner_network)
                assert owner.json_body["code"] == 200, owner.json_body
                assert owner.json_body["data"]["id"] == user["id"]
                while len(tried) < before + 4:  # the attack goes on between the owner's tries
                    time.sleep(0.01)
            stranger = attempt(client, user, user["password"], "198.51.100.99")
            assert stranger.json_body["code"] == 429, "a source that never logged in stays paced"
        finally:
            stop.set()
            for future in running:
                future.result()
    assert len(tried) >= 16


def test_a_known_source_is_still_limited_by_its_own_failures(client):
    user = register(client)  # logged in from 127.0.0.1: a known source
    for _ in range(5):
        assert attempt(client, user, "wrong-pass").json_body["code"] == 1000
    refused = attempt(client, user, user["password"]).json_body
    assert refused["code"] == 429 and "from your network" in refused["message"]


def test_a_source_is_known_for_thirty_days_after_its_last_login(client):
    from chalicelib.db.models import KnownSource

    user = register(client)
    owner_network = "198.51.100.78"
    assert attempt(client, user, user["password"], owner_network).json_body["code"] == 200
    known = KnownSource.get(keys.email_pk(user["email"]), keys.known_source_sk(owner_network))
    assert 30 * 86400 - 60 <= known.expires_at - clock.now() <= 30 * 86400
    wrong_logins_from_new_sources(user, 25)
    assert attempt(client, user, user["password"], owner_network).json_body["code"] == 200
    known.update(actions=[KnownSource.expires_at.set(int(clock.now()) - 1)])  # TTL deletes it only later
    slowed = attempt(client, user, user["password"], owner_network).json_body
    assert slowed["code"] == 429 and "many login attempts" in slowed["message"]

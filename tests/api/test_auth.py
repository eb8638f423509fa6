"""Registration, login, email codes and password reset through the HTTP API."""
from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.db.models import EmailCodes, EmailLogin, UserProfile
from tests.support.factories import (
    JSON,
    last_code_for,
    multipart_body,
    post_form,
    random_email,
    random_name,
    register,
)


def sent_count() -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    return len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def send_code(client, email, email_type=1):
    return post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": email_type}).json_body


def registration(client, email, code, name=None, password="secret123", repeat=None):
    return post_form(client, "/auth/registered", {
        "email": email, "name": name or random_name(), "password": password,
        "password_repeat": password if repeat is None else repeat, "code": code}).json_body


def test_send_code_accepts_multipart_like_the_web_client(client):
    email = random_email()
    body, headers = multipart_body({"email": email, "email_type": 1})
    answer = client.http.post("/auth/sendEmailCode", headers=headers, body=body).json_body
    assert answer == {"code": 200, "message": "Success", "data": {}}
    assert len(last_code_for(email)) == 6


def test_send_code_accepts_json(client):
    email = random_email()
    answer = client.http.post("/auth/sendEmailCode", headers=JSON,
                              body=json.dumps({"email": email, "email_type": 1})).json_body
    assert answer["code"] == 200


def test_code_is_stored_hashed_with_a_ttl(client):
    email = random_email()
    send_code(client, email)
    item = EmailCodes.get(keys.email_codes_pk(email), "CODES")
    assert item.register_hash and last_code_for(email) not in item.register_hash
    assert 590 <= item.register_expires - time.time() <= 600


@pytest.mark.parametrize("body, message", [
    (b"{not json", "request body is not valid JSON"),
    (b"[1, 2]", "request body must be a JSON object"),
    (json.dumps({"email_type": 1}).encode(), "email is required"),
    (json.dumps({"email": "nobody", "email_type": 1}).encode(), "email must be a valid email"),
    (json.dumps({"email": "a@b.co", "email_type": "12abc"}).encode(), "email_type must be an integer"),
    (json.dumps({"email": "a@b.co", "email_type": 3}).encode(), "email_type must be one of 1, 2"),
    (json.dumps({"email": "a@b.co", "email_type": True}).encode(), "email_type must be an integer"),
    (json.dumps({"email": ["a@b.co"], "email_type": 1}).encode(), "email must be a string"),
    (json.dumps({"email": "a" * 300 + "@b.co", "email_type": 1}).encode(), "email must be at most 254 characters"),
])
def test_send_code_rejects_bad_input_and_sends_nothing(client, body, message):
    before = sent_count()
    answer = client.http.post("/auth/sendEmailCode", headers=JSON, body=body).json_body
    assert answer == {"code": 1000, "message": message, "data": {}}
    assert sent_count() == before


def test_unsupported_content_type_is_refused(client):
    answer = client.http.post("/auth/login", headers={"content-type": "text/csv"}, body=b"a,b").json_body
    assert answer["code"] == 1000 and "unsupported content type" in answer["message"]


def test_oversized_body_answers_413(client):
    answer = client.http.post("/auth/login", headers=JSON, body=b'{"email":"' + b"a" * 70000 + b'"}')
    assert answer.status_code == 413
    assert answer.json_body["code"] == 413


def test_resend_within_cooldown_is_rate_limited(client):
    email = random_email()
    assert send_code(client, email)["code"] == 200
    answer = post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    # HTTP 200: the web client shows `message` only for HTTP 200 answers
    assert answer.status_code == 200
    assert answer.json_body["code"] == 429
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 61
    assert answer.json_body["message"].endswith(
        f"please try again in {wait} seconds" if wait < 60 else "please try again in 1 minute")


def test_daily_limit_per_address(client, monkeypatch):
    """The wait runs to UTC midnight, so the test's clock runs from today's noon (12 hours left, both sends on
    one UTC day) whenever the suite runs."""
    started, real = time.time(), clock.now
    noon = started - started % 86400 + 43200
    monkeypatch.setattr(clock, "now", lambda: noon + (real() - started))
    email = random_email()
    send_code(client, email)
    item = EmailCodes.get(keys.email_codes_pk(email), "CODES")
    item.update(actions=[EmailCodes.day_count.set(10), EmailCodes.sent_at.set(clock.now() - 3600)])
    answer = post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    assert answer.status_code == 200 and answer.json_body["code"] == 429
    assert answer.json_body["message"] == (
        "too many codes for this address today; please try again in 12 hours")
    assert 43200 - 60 < int(answer.headers["Retry-After"]) <= 43200


def age_last_send(email, seconds=3600):
    item = EmailCodes.get(keys.email_codes_pk(email), "CODES")
    item.update(actions=[EmailCodes.sent_at.set(item.sent_at - seconds)])


def last_message():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1]


def test_no_enumeration_registered_address_gets_a_notice_not_a_code(client):
    user = register(client)
    age_last_send(user["email"])
    before = sent_count()
    assert send_code(client, user["email"], 1) == {"code": 200, "message": "Success", "data": {}}
    assert sent_count() == before + 1
    notice = last_message().body
    assert "已经注册" in notice and not re.search(r"\b\d{6}\b", notice)


def test_no_enumeration_reset_for_unknown_address_sends_nothing(client):
    before = sent_count()
    assert send_code(client, random_email(), 2) == {"code": 200, "message": "Success", "data": {}}
    assert sent_count() == before


def test_ses_failure_answers_1001_and_stores_nothing(client, monkeypatch):
    from chalicelib.config import reset_caches

    monkeypatch.setenv("MAIL_SENDER", "someone@unverified.example")
    reset_caches()
    email = random_email()
    try:
        assert send_code(client, email)["code"] == 1001
    finally:
        monkeypatch.undo()
        reset_caches()
    with pytest.raises(EmailCodes.DoesNotExist):
        EmailCodes.get(keys.email_codes_pk(email), "CODES")
    assert send_code(client, email)["code"] == 200


def test_register_and_login_return_the_origin_shape(client):
    user = register(client)
    assert set(user) >= {"id", "uid", "name", "avatar", "email", "token", "expire_time", "ttl"}
    assert isinstance(user["id"], int) and user["id"] > 1
    assert user["avatar"].startswith("https://")
    profile = UserProfile.get(keys.user_pk(user["id"]), keys.PROFILE)
    assert profile.user_type == 0


def test_seed_aliases_answer_like_auth_routes(client):
    email = random_email()
    assert post_form(client, "/sendEmailCode", {"email": email, "email_type": 1}).json_body["code"] == 200
    code = last_code_for(email)
    assert post_form(client, "/registered", {"email": email, "name": random_name(), "password": "secret123",
                                             "password_repeat": "secret123", "code": code}).json_body["code"] == 200
    assert post_form(client, "/login", {"email": email, "password": "secret123"}).json_body["code"] == 200


def test_wrong_code_then_attempt_limit_kills_the_code(client):
    email = random_email()
    send_code(client, email)
    code = last_code_for(email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert registration(client, email, wrong)["message"] == "verification code is incorrect"
    answer = registration(client, email, code)
    assert answer["code"] == 1000 and "expired" in answer["message"]
    with pytest.raises(EmailLogin.DoesNotExist):
        EmailLogin.get(keys.email_pk(email), "EMAIL")


def test_code_is_single_use(client):
    email = random_email()
    send_code(client, email)
    code = last_code_for(email)
    assert registration(client, email, code)["code"] == 200
    assert registration(client, email, code)["code"] == 1000


@pytest.mark.parametrize("fields, message", [
    ({"password": "12345", "repeat": "12345"}, "password must be 6 to 20 characters"),
    ({"password": "x" * 21, "repeat": "x" * 21}, "password must be 6 to 20 characters"),
    ({"password": "secret123", "repeat": "secret124"}, "password_repeat does not match password"),
    ({"name": "n" * 21}, "name must be at most 20 characters"),
])
def test_register_rejects_bad_fields_without_spending_the_code(client, fields, message):
    email = random_email()
    send_code(client, email)
    code = last_code_for(email)
    answer = registration(client, email, code, name=fields.get("name"), password=fields.get("password", "secret123"),
                          repeat=fields.get("repeat"))
    assert answer == {"code": 1000, "message": message, "data": {}}
    assert registration(client, email, code)["code"] == 200


def test_name_is_unique_case_insensitively(client):
    name = random_name()
    register(client, name=name)
    email = random_email()
    send_code(client, email)
    answer = registration(client, email, last_code_for(email), name=name.upper())
    assert answer == {"code": 1000, "message": "this name is already taken", "data": {}}
    with pytest.raises(EmailLogin.DoesNotExist):
        EmailLogin.get(keys.email_pk(email), "EMAIL")


def test_two_simultaneous_registrations_of_one_email_exactly_one_succeeds(client):
    from chalicelib.services import auth

    email = random_email()
    send_code(client, email)
    code = last_code_for(email)

    def attempt(index):
        try:
            auth.register(email, f"{random_name()}{index}", "secret123", "secret123", code)
            return "ok"
        except Exception as exc:  # the loser gets a domain error
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "InvalidInput"}


def test_login_failure_is_generic(client):
    user = register(client)
    wrong = post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"}).json_body
    unknown = post_form(client, "/auth/login", {"email": random_email(), "password": "wrong-pass"}).json_body
    assert wrong == unknown == {"code": 1000, "message": "email or password is incorrect", "data": {}}


def test_login_is_throttled_after_five_failures(client):
    user = register(client)
    for _ in range(5):
        post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"})
    answer = post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]})
    assert answer.status_code == 200 and answer.json_body["code"] == 429
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 900
    assert "please try again in" in answer.json_body["message"]


def test_successful_login_clears_earlier_failures(client):
    user = register(client)
    for _ in range(4):
        post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"})
    assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                     ).json_body["code"] == 200
    for _ in range(4):
        post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"})
    assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                     ).json_body["code"] == 200


def test_login_accepts_email_case_insensitively(client):
    user = register(client)
    answer = post_form(client, "/auth/login", {"email": user["email"].upper(), "password": user["password"]})
    assert answer.json_body["data"]["id"] == user["id"]


def test_reset_password_with_a_type_2_code(client):
    user = register(client)
    age_last_send(user["email"])
    assert send_code(client, user["email"], 2)["code"] == 200
    code = last_code_for(user["email"])
    answer = post_form(client, "/auth/resetPassword", {"email": user["email"], "code": code,
                                                       "password": "newpass1", "password_repeat": "newpass1"})
    assert answer.json_body["code"] == 200
    assert post_form(client, "/auth/login", {"email": user["email"], "password": "newpass1"}).json_body["code"] == 200
    assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                     ).json_body["code"] == 1000
    reuse = post_form(client, "/auth/resetPassword", {"email": user["email"], "code": code,
                                                      "password": "other12", "password_repeat": "other12"})
    assert reuse.json_body["code"] == 1000


def test_register_code_does_not_reset_password(client):
    user = register(client)
    email = random_email()
    send_code(client, email, 1)
    answer = post_form(client, "/auth/resetPassword", {"email": user["email"], "code": last_code_for(email),
                                                       "password": "newpass1", "password_repeat": "newpass1"})
    assert answer.json_body["code"] == 1000


def test_email_codes_are_limited_per_source_ip_alike_for_known_and_unknown_addresses(client):
    from tests.support.factories import from_source

    known = register(client)
    age_last_send(known["email"])
    with from_source(client, "203.0.113.70"):
        for index in range(20):
            email, email_type = (known["email"], 2) if index == 0 else (random_email(), 1 + index % 2)
            assert send_code(client, email, email_type)["code"] == 200
        age_last_send(known["email"])
        before = sent_count()
        for email, email_type in ((random_email(), 1), (known["email"], 1), (random_email(), 2)):
            answer = post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": email_type})
            assert answer.json_body["code"] == 429 and "from your network" in answer.json_body["message"]
            assert 1 <= int(answer.headers["Retry-After"]) <= 3600
        assert sent_count() == before
    with from_source(client, "198.51.100.71"):
        assert send_code(client, random_email())["code"] == 200


def test_email_codes_have_a_daily_ceiling_per_source_ip(client, monkeypatch):
    from chalicelib.config import reset_caches
    from tests.support.factories import from_source

    monkeypatch.setenv("EMAIL_CODES_PER_SOURCE_HOUR", "1000")
    monkeypatch.setenv("EMAIL_CODES_PER_SOURCE_DAY", "3")
    reset_caches()
    with from_source(client, "203.0.113.72"):
        for _ in range(3):
            assert send_code(client, random_email())["code"] == 200
        answer = send_code(client, random_email())
    assert answer["code"] == 429 and "today" in answer["message"]

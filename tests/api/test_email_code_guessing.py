"""Email codes guessed in parallel (issue 26, item 1): every attempt is counted before its comparison, in one
conditional write, so a burst of 40 gets exactly 5 comparisons and the code is dead after them."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.errors import InvalidInput
from chalicelib.services import auth
from tests.api.test_auth import age_last_send
from tests.support.factories import last_code_for, post_form, random_email, random_name, register

BURST = 40
MAX_ATTEMPTS = 5
INCORRECT = "verification code is incorrect"


def wrong_codes(real: str, count: int) -> list[str]:
    return [code for code in (f"{n:06d}" for n in range(count + 1)) if code != real][:count]


def burst(attempt, codes: list[str]) -> list[str]:
    """All `codes` tried at once, one thread each; each outcome is the answer's message ("ok" on success)."""
    start = threading.Barrier(len(codes))

    def one(code: str) -> str:
        start.wait()
        try:
            attempt(code)
        except InvalidInput as refused:
            return refused.message
        return "ok"

    with ThreadPoolExecutor(max_workers=len(codes)) as pool:
        return list(pool.map(one, codes))


def registering(email: str):
    return lambda code: auth.create_account(email, random_name(), "secret123", "secret123", code)


def resetting(email: str):
    return lambda code: auth.reset_password(email, code, "newpass123", "newpass123")


def assert_exactly_five_comparisons(outcomes: list[str]) -> None:
    compared = outcomes.count(INCORRECT) + outcomes.count("ok")
    assert compared == MAX_ATTEMPTS, outcomes
    assert outcomes.count("ok") <= 1
    dead = [message for message in outcomes if message not in (INCORRECT, "ok")]
    assert len(dead) == BURST - MAX_ATTEMPTS
    assert all("invalid or expired" in message for message in dead), set(dead)


def test_forty_parallel_registration_guesses_get_five_comparisons_then_the_code_is_dead(client):
    email = random_email()
    assert post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1}).json_body["code"] == 200
    real = last_code_for(email)
    outcomes = burst(registering(email), wrong_codes(real, BURST))
    assert outcomes.count(INCORRECT) == MAX_ATTEMPTS
    assert_exactly_five_comparisons(outcomes)
    late = post_form(client, "/auth/registered", {"email": email, "name": random_name(), "password": "secret123",
                                                  "password_repeat": "secret123", "code": real}).json_body
    assert late["code"] == 1000 and "invalid or expired" in late["message"]
    assert post_form(client, "/auth/login", {"email": email, "password": "secret123"}).json_body["code"] == 1000


def test_the_real_code_hidden_in_a_burst_is_compared_only_if_it_is_one_of_the_five(client):
    for _ in range(3):  # the attack's three trials
        email = random_email()
        assert post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1}).json_body["code"] == 200
        real = last_code_for(email)
        codes = wrong_codes(real, BURST - 1)
        codes.insert(random.randrange(BURST), real)
        outcomes = burst(registering(email), codes)
        assert_exactly_five_comparisons(outcomes)
        registered = outcomes[codes.index(real)] == "ok"
        login = post_form(client, "/auth/login", {"email": email, "password": "secret123"}).json_body
        assert (login["code"] == 200) == registered


def test_forty_parallel_reset_guesses_get_five_comparisons_then_the_code_is_dead(client):
    user = register(client)
    age_last_send(user["email"])  # past the resend cooldown of the registration code
    assert post_form(client, "/auth/sendEmailCode", {"email": user["email"], "email_type": 2}).json_body["code"] == 200
    real = last_code_for(user["email"])
    outcomes = burst(resetting(user["email"]), wrong_codes(real, BURST))
    assert outcomes.count(INCORRECT) == MAX_ATTEMPTS
    assert_exactly_five_comparisons(outcomes)
    late = post_form(client, "/auth/resetPassword", {"email": user["email"], "code": real, "password": "newpass123",
                                                     "password_repeat": "newpass123"}).json_body
    assert late["code"] == 1000 and "invalid or expired" in late["message"]
    assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                     ).json_body["code"] == 200, "the password is unchanged"


def test_the_fifth_attempt_may_be_the_right_one(client):
    email = random_email()
    post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    real = last_code_for(email)
    for code in wrong_codes(real, MAX_ATTEMPTS - 1):
        answer = post_form(client, "/auth/registered", {"email": email, "name": random_name(), "password": "secret123",
                                                        "password_repeat": "secret123", "code": code}).json_body
        assert answer["message"] == INCORRECT
    answer = post_form(client, "/auth/registered", {"email": email, "name": random_name(), "password": "secret123",
                                                    "password_repeat": "secret123", "code": real}).json_body
    assert answer["code"] == 200

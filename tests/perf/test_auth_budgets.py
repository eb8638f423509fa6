"""AWS calls per operation for the foundation routes (performance-notes §8 P1/P2)."""
from __future__ import annotations

import time

from chalicelib.ws import handlers
from tests.support.factories import (
    from_source,
    get,
    last_code_for,
    post_form,
    random_email,
    random_name,
    register,
    ws_event,
)


def dynamodb(log):
    return {name: n for name, n in log.calls.items() if name.startswith("dynamodb.")}


def test_login_counts_its_attempt_before_one_read(client, aws_calls):
    """From a source that logged in before (the factory's login): two conditional counters (source, address+source)
    before one BatchGetItem of the login record and the source's record; no address pace. A success gives the
    source's use back and clears the pair's; a failure leaves them counted."""
    user = register(client)
    aws_calls.reset()
    assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                     ).json_body["code"] == 200
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 1, "dynamodb.DeleteItem": 1}
    aws_calls.reset()
    assert post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"}
                     ).json_body["code"] == 1000
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 2, "dynamodb.BatchGetItem": 1}


def test_login_from_a_new_source_is_paced_and_remembered(client, aws_calls):
    """A source the account does not know also takes the address's pace (a third conditional UpdateItem); its first
    success records the source (one PutItem), which is rewritten at most once a day."""
    user = register(client)
    with from_source(client, "198.51.100.200"):
        aws_calls.reset()
        assert post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"}
                         ).json_body["code"] == 1000
        assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 1}
        aws_calls.reset()
        assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                         ).json_body["code"] == 200
        assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 4, "dynamodb.BatchGetItem": 1,
                                         "dynamodb.DeleteItem": 1, "dynamodb.PutItem": 1}
        aws_calls.reset()
        assert post_form(client, "/auth/login", {"email": user["email"], "password": user["password"]}
                         ).json_body["code"] == 200
        assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 1,
                                         "dynamodb.DeleteItem": 1}


def test_a_token_costs_one_read_per_process_per_minute(client, aws_calls):
    from chalicelib.security import revocation

    user = register(client)
    aws_calls.reset()
    assert get(client, "/sessions", user["token"]).json_body["code"] == 200
    first = dict(aws_calls.calls)
    aws_calls.reset()
    assert get(client, "/sessions", user["token"]).json_body["code"] == 200
    second = dict(aws_calls.calls)
    first["dynamodb.BatchGetItem"] -= 1
    assert first == second, "the first request of a token reads its state once: one BatchGetItem of two keys"
    assert revocation.CACHE_SECONDS <= 60


def test_send_email_code_costs_four_dynamodb_calls_and_one_email(client, aws_calls):
    """One read, the source's hourly and daily counters, one conditional write."""
    aws_calls.reset()
    post_form(client, "/auth/sendEmailCode", {"email": random_email(), "email_type": 1})
    assert aws_calls.count("dynamodb.") <= 4
    assert aws_calls.calls["dynamodb.UpdateItem"] >= 2
    assert aws_calls.calls["sesv2.SendEmail"] == 1
    assert aws_calls.count() == aws_calls.count("dynamodb.") + 1


def test_register_costs_at_most_three_dynamodb_calls_before_the_bot_greeting(client, aws_calls):
    from chalicelib.services import auth

    email = random_email()
    post_form(client, "/auth/sendEmailCode", {"email": email, "email_type": 1})
    code = last_code_for(email)
    aws_calls.reset()
    auth.create_account(email, random_name(), "secret123", "secret123", code)
    assert aws_calls.count("dynamodb.") <= 3, dict(aws_calls.calls)


def test_heartbeat_costs_only_its_frame_quota(sender, aws_calls):
    """Every frame takes one unit of its connection's `ws_frames` quota (one conditional UpdateItem): the price
    of closing a connection that floods (README *Limits*)."""
    from chalicelib.security.tokens import issue_token

    handlers.connect(ws_event("$connect", "c1", query={"token": issue_token(5, "u", "n").token}))
    aws_calls.reset()
    long_ago = int(time.time() * 1000) - 60_000
    handlers.message(ws_event("$default", "c1", body='{"msg_code":1004,"message":"ping"}', connected_at_ms=long_ago))
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 1}


def test_connect_is_the_connects_quota_and_one_transaction_of_two_writes(sender, aws_calls):
    from chalicelib.security.tokens import issue_token

    token = issue_token(5, "u", "n").token
    aws_calls.reset()
    handlers.connect(ws_event("$connect", "c1", query={"token": token}))
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 1, "dynamodb.TransactWriteItems": 1}


def test_disconnect_costs_two_calls(sender, aws_calls):
    from chalicelib.security.tokens import issue_token

    handlers.connect(ws_event("$connect", "c1", query={"token": issue_token(5, "u", "n").token}))
    aws_calls.reset()
    handlers.disconnect(ws_event("$disconnect", "c1"))
    assert aws_calls.count("dynamodb.") <= 2


def test_no_scan_anywhere(client, aws_calls):
    user = register(client)
    post_form(client, "/auth/login", {"email": user["email"], "password": "wrong-pass"})
    assert not any(name.endswith(".Scan") for name in aws_calls.calls)

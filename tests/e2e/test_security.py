"""Issue 14's attacks against the local stack, over real HTTP and WebSocket connections."""
from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chalicelib.db import keys
from tests.e2e.conftest import RunningStack
from tests.e2e.test_local_stack import PASSWORD, register_account

pytestmark = pytest.mark.e2e


def _last_code(stack: RunningStack, email: str, after: int) -> str:
    """The code of the newest email to `email` once more than `after` emails reached it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        messages = [message for message in
                    requests.get(f"{stack.aws_url}/moto-api/data.json", timeout=5).json()["ses"]["Message"]
                    if email in message["destinations"]["ToAddresses"]]
        if len(messages) > after:
            found = re.search(r"\b(\d{6})\b", messages[-1]["body"])
            assert found, messages[-1]["body"]
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no new email reached {email}")


def _post_from(stack: RunningStack, source: str, path: str, fields: dict[str, str]) -> tuple[int, dict]:
    """A form POST whose TCP connection leaves from `source` (any 127.x address is loopback on Linux)."""
    url = urlsplit(stack.http_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
    try:
        connection.request("POST", path, body=urlencode(fields),
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "X-Forwarded-For": "198.51.100.77"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _profile(stack: RunningStack, token: str, user_id: int) -> requests.Response:
    return requests.get(f"{stack.http_url}/user/{user_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_password_reset_ends_the_old_token_everywhere(stack: RunningStack) -> None:
    account = register_account(stack)
    with connect(f"{stack.ws_url}/im/connect?token={account.token}", open_timeout=5) as old_socket:
        stack.aws("dynamodb").update_item(  # past the 60 s resend cooldown
            TableName=stack.table, Key={"PK": {"S": keys.email_codes_pk(account.email)}, "SK": {"S": "CODES"}},
            UpdateExpression="SET sent_at = :long_ago", ExpressionAttributeValues={":long_ago": {"N": "1"}})
        requests.post(f"{stack.http_url}/auth/sendEmailCode", data={"email": account.email, "email_type": "2"},
                      timeout=10).raise_for_status()
        code = _last_code(stack, account.email, after=1)
        reset = requests.post(f"{stack.http_url}/auth/resetPassword", timeout=10, data={
            "email": account.email, "code": code, "password": "n3w-Passw0rd", "password_repeat": "n3w-Passw0rd"})
        assert reset.json()["code"] == 200, reset.text
        assert json.loads(old_socket.recv(timeout=5))["msg_code"] == 2004
        with pytest.raises(ConnectionClosed):
            old_socket.recv(timeout=5)
    refused = _profile(stack, account.token, account.user_id)
    assert refused.status_code == 401 and "ended" in refused.json()["message"]
    with pytest.raises(InvalidStatus) as refusal:
        connect(f"{stack.ws_url}/im/connect?token={account.token}", open_timeout=5)
    assert refusal.value.response.status_code == 401


def test_failures_from_one_source_leave_the_owner_free_from_another(stack: RunningStack) -> None:
    account = register_account(stack)
    for _ in range(5):
        status, answer = _post_from(stack, "127.0.0.2", "/auth/login",
                                    {"email": account.email, "password": "wrong-Passw0rd"})
        assert answer["code"] == 1000
    status, answer = _post_from(stack, "127.0.0.2", "/auth/login", {"email": account.email, "password": PASSWORD})
    assert answer["code"] == 429  # X-Forwarded-For named another source: not trusted
    status, answer = _post_from(stack, "127.0.0.3", "/auth/login", {"email": account.email, "password": PASSWORD})
    assert status == 200 and answer["code"] == 200 and answer["data"]["id"] == account.user_id


def test_a_persistent_login_attack_never_slows_the_owner_on_a_network_it_used(stack: RunningStack) -> None:
    """Issue 26's item 2 over real sockets: 25 wrong logins from as many sources, then more from new sources in two
    threads while the owner logs in from the network it registered and logged in from (127.0.0.1)."""
    account = register_account(stack)
    wrong = {"email": account.email, "password": "wrong-Passw0rd"}
    right = {"email": account.email, "password": PASSWORD}
    for index in range(25):
        assert _post_from(stack, f"127.0.1.{index + 1}", "/auth/login", wrong)[1]["code"] in (1000, 429)
    stop = threading.Event()

    def attacker(subnet: int) -> int:
        sent = 0
        while not stop.is_set():
            _post_from(stack, f"127.{subnet}.{sent // 250}.{sent % 250 + 1}", "/auth/login", wrong)
            sent += 1
            time.sleep(0.1)
        return sent

    with ThreadPoolExecutor(max_workers=2) as pool:
        attacks = [pool.submit(attacker, subnet) for subnet in (2, 3)]
        try:
            for _ in range(4):
                status, answer = _post_from(stack, "127.0.0.1", "/auth/login", right)
                assert status == 200 and answer["code"] == 200, answer
                time.sleep(0.5)
            status, answer = _post_from(stack, "127.0.0.250", "/auth/login", right)
            assert answer["code"] == 429 and "new networks" in answer["message"], answer
        finally:
            stop.set()
        assert sum(attack.result() for attack in attacks) >= 4


def test_a_deeply_nested_frame_gets_the_error_frame(stack: RunningStack) -> None:
    account = register_account(stack)
    with connect(f"{stack.ws_url}/im/connect?token={account.token}", open_timeout=5) as client:
        client.send('{"msg_code":' + "[" * 10_000 + "]" * 10_000 + "}")
        replies = []
        while not any(reply.get("msg_code") == 500 for reply in replies):
            replies.append(json.loads(client.recv(timeout=5)))  # the bot's greetings may come first
        (error,) = [reply for reply in replies if reply.get("msg_code") == 500]
        assert "malformed frame" in error["message"]


def test_thirty_sockets_of_one_user_at_once_leave_ten_open(stack: RunningStack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    account = register_account(stack)

    def open_socket(_: int):
        return connect(f"{stack.ws_url}/im/connect?token={account.token}", open_timeout=10)

    with ThreadPoolExecutor(max_workers=30) as pool:
        sockets = list(pool.map(open_socket, range(30)))
    try:
        for client in sockets:  # the first frame also closes a socket taken while it was still connecting
            with contextlib.suppress(ConnectionClosed):  # already closed for a newer one: its frames are buffered
                client.send(json.dumps({"msg_code": 1004, "message": "ping"}))
        deadline = time.monotonic() + 10
        told: dict[int, dict] = {}  # socket index → the 2005 frame it got
        closed: set[int] = set()
        while time.monotonic() < deadline and len(closed) < 20:
            for index, client in enumerate(sockets):
                try:
                    while index not in closed:
                        frame = json.loads(client.recv(timeout=0.05))
                        if frame.get("msg_code") == 2005:
                            told[index] = frame
                except TimeoutError:
                    pass
                except ConnectionClosed:
                    closed.add(index)
        assert len(closed) == 20 and set(told) == closed  # MAX_CONNECTIONS_PER_USER: 10 by default
        item = stack.aws("dynamodb").get_item(TableName=stack.table, ConsistentRead=True, Key={
            "PK": {"S": keys.user_pk(account.user_id)}, "SK": {"S": keys.CONNECTIONS_SK}})["Item"]
        assert len(item["tokens"]["SS"]) == 10
    finally:
        for client in sockets:
            client.close()

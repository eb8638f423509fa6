"""The local stack over real sockets: HTTP API, WebSocket gateway, @connections API, local AWS and its mail."""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chalicelib.db import keys
from infra.local.errors import StackError
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

IDLE_SECONDS = 3  # short, so the idle-timeout test is quick; the tests here keep their sockets busy
STACK_ENVIRONMENT = {"LOCAL_WS_IDLE_SECONDS": str(IDLE_SECONDS)}
PASSWORD = "e2e-Passw0rd"


@dataclass(frozen=True)
class Account:
    user_id: int
    email: str
    token: str


def _ok(stack: RunningStack, response: requests.Response) -> dict:
    """The envelope's data; on failure the message carries the stack's recent output (the app's traceback)."""
    envelope = response.json() if response.status_code == 200 else {}
    assert envelope.get("code") == 200, f"{response.status_code} {response.text}\n{stack.output()[-4000:]}"
    return envelope["data"]


def _emailed_code(stack: RunningStack, email: str) -> str:
    """The 6-digit code, read from local SES as a developer would: GET /moto-api/data.json → ses.Message."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        messages = requests.get(f"{stack.aws_url}/moto-api/data.json", timeout=5).json()["ses"]["Message"]
        for message in messages:
            code = re.search(r"\b(\d{6})\b", message["body"])
            if email in message["destinations"]["ToAddresses"] and code:
                return code.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no email reached {email}")


@pytest.fixture(scope="module")
def account(stack: RunningStack) -> Account:
    return register_account(stack)


def register_account(stack: RunningStack) -> Account:
    """Registers through the real HTTP API: email code (multipart), code from local SES, register (urlencoded),
    log in (JSON)."""
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    _ok(stack, requests.post(f"{stack.http_url}/auth/sendEmailCode",
                             files={"email": (None, email), "email_type": (None, "1")}, timeout=10))
    code = _emailed_code(stack, email)
    _ok(stack, requests.post(f"{stack.http_url}/auth/registered", timeout=10, data={
        "email": email, "name": f"e2e{uuid.uuid4().hex[:8]}", "password": PASSWORD, "password_repeat": PASSWORD,
        "code": code}))
    login = _ok(stack, requests.post(f"{stack.http_url}/auth/login", json={"email": email, "password": PASSWORD},
                                     timeout=10))
    assert login["email"] == email and login["token"]
    return Account(int(login["id"]), email, login["token"])


def _connection_ids(stack: RunningStack, user_id: int) -> set[str]:
    """The user's live connections as `$connect` stored them: `<connectionId>|<expiry>|<jti>` tokens."""
    item = stack.aws("dynamodb").get_item(TableName=stack.table, ConsistentRead=True, Key={
        "PK": {"S": keys.user_pk(user_id)}, "SK": {"S": keys.CONNECTIONS_SK}}).get("Item", {})
    return {token.split("|", 1)[0] for token in item.get("tokens", {}).get("SS", [])}


@pytest.fixture
def socket(stack: RunningStack, account: Account) -> Iterator[tuple[ClientConnection, str]]:
    """An open socket on the web client's path, with the connection id the gateway gave it."""
    before = _connection_ids(stack, account.user_id)
    with connect(f"{stack.ws_url}/im/connect?token={account.token}", open_timeout=5) as client:
        (connection_id,) = _connection_ids(stack, account.user_id) - before
        yield client, connection_id


def _error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_unknown_path_answers_404_envelope(stack: RunningStack) -> None:
    for method in ("GET", "POST"):
        response = requests.request(method, f"{stack.http_url}/no/such/route", timeout=5)
        assert response.status_code == 404
        assert response.json() == {"code": 404, "message": "route not found", "data": {}}


def test_email_is_echoed_to_the_console(stack: RunningStack, account: Account) -> None:
    deadline = time.monotonic() + 5
    while f"to {account.email}" not in stack.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"to {account.email}" in stack.output()


def test_bad_or_missing_token_refuses_the_upgrade_with_401(stack: RunningStack) -> None:
    for url in (f"{stack.ws_url}/im/connect?token=not-a-jwt", f"{stack.ws_url}/"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 401


def test_socket_round_trip_through_the_app_and_the_management_api(
        stack: RunningStack, account: Account, socket: tuple[ClientConnection, str]) -> None:
    client, connection_id = socket
    management = stack.aws("apigatewaymanagementapi")

    client.send(json.dumps({"msg_code": 1004, "message": "ping"}))  # heartbeat: no answer
    client.send("not json")
    # The first frames of a new connection deliver the events kept while the user was offline (the bot's
    # greeting chat messages); after them, the only frame is the answer to the malformed one.
    frames = [json.loads(client.recv(timeout=5))]
    while frames[-1]["msg_code"] != 500:
        frames.append(json.loads(client.recv(timeout=5)))
    assert all(frame["msg_code"] == 200 for frame in frames[:-1]), frames

    pushed = json.dumps({"msg_code": 200, "message": "pushed through @connections"})
    management.post_to_connection(ConnectionId=connection_id, Data=pushed.encode())
    assert client.recv(timeout=5) == pushed

    client.close()
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    deadline = time.monotonic() + 5  # $disconnect forgets the connection in the table
    while connection_id in _connection_ids(stack, account.user_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connection_id not in _connection_ids(stack, account.user_id)


def test_management_api_info_limits_and_delete(stack: RunningStack, socket: tuple[ClientConnection, str]) -> None:
    client, connection_id = socket
    management = stack.aws("apigatewaymanagementapi")

    info = management.get_connection(ConnectionId=connection_id)
    assert isinstance(info["ConnectedAt"], datetime) and isinstance(info["LastActiveAt"], datetime)
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert "websockets" in info["Identity"]["UserAgent"]

    with pytest.raises(ClientError) as too_large:
        management.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
    assert _error_code(too_large.value) == "PayloadTooLargeException"
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId="NoSuchConnection=", Data=b"{}")

    management.delete_connection(ConnectionId=connection_id)
    with pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    with pytest.raises(management.exceptions.GoneException):
        management.get_connection(ConnectionId=connection_id)


def test_frame_over_32_kb_closes_the_socket_with_1009(socket: tuple[ClientConnection, str]) -> None:
    client, _ = socket
    client.send("x" * (32 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_idle_socket_is_closed_like_api_gateway(socket: tuple[ClientConnection, str]) -> None:
    client, _ = socket
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=IDLE_SECONDS + 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert closed.value.rcvd.reason == "idle timeout"
    assert time.monotonic() - started >= IDLE_SECONDS - 1


def test_plain_http_on_the_websocket_port_asks_for_an_upgrade(stack: RunningStack) -> None:
    assert requests.get(f"{stack.ws_url.replace('ws://', 'http://')}/im/connect", timeout=5).status_code == 426


@pytest.mark.parametrize(("variable", "value", "explained"), [
    ("LOCAL_WS_IDLE_SECONDS", "soon", "LOCAL_WS_IDLE_SECONDS must be an integer, got 'soon'"),
    ("BCRYPT_ROUNDS", "40", "the app's settings are invalid: BCRYPT_ROUNDS must be between 4 and 31, got 40"),
])
def test_a_stack_that_exits_while_starting_is_reported_with_its_output(variable: str, value: str,
                                                                       explained: str) -> None:
    with pytest.raises(StackError) as failed:
        RunningStack({variable: value}, start_timeout=30).start()
    assert "did not start (exit code 1)" in str(failed.value)
    assert explained in str(failed.value)
    assert "Traceback" not in str(failed.value)

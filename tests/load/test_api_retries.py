"""The load client's retry rules, against a real HTTP server on loopback: 503 is retried after Retry-After, a call
with no answer is repeated only when it is idempotent."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from infra.load.api import BUSY_ATTEMPTS, TRANSPORT_ATTEMPTS, Answer, Api

OK_ENVELOPE = json.dumps({"code": 200, "message": "Success", "data": {"id": 7}})
BUSY_ENVELOPE = json.dumps({"code": 503, "message": "busy", "data": {}})


def _busy_then_ok(busy_answers: int, seen: list[str]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        seen.append(await request.text())
        if len(seen) <= busy_answers:
            return web.Response(status=503, text=BUSY_ENVELOPE, headers={"Retry-After": "0"})
        return web.Response(text=OK_ENVELOPE)

    return handle


async def _call_http(busy_answers: int) -> tuple[Answer, list[str], dict[str, int]]:
    seen: list[str] = []
    app = web.Application()
    app.router.add_post("/messages/private", _busy_then_ok(busy_answers, seen))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, f"http://127.0.0.1:{port}")
            answer = await api.call("POST", "/messages/private", "token", json={"msg_client_id": 1})
    finally:
        await runner.cleanup()
    return answer, seen, dict(api.kinds)


async def _call_silent_server(idempotent: bool) -> tuple[Answer, int]:
    """A server that accepts each connection and closes it without answering."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            answer = await Api(session, f"http://127.0.0.1:{port}").call(
                "POST", "/messages/private", "token", json={"msg_client_id": 1}, idempotent=idempotent)
    finally:
        server.close()
        await server.wait_closed()
    return answer, connections


def test_busy_answers_are_retried_with_the_same_body_until_one_succeeds() -> None:
    answer, seen, kinds = asyncio.run(_call_http(busy_answers=2))
    assert answer.ok and answer.data == {"id": 7}
    assert seen == ['{"msg_client_id": 1}'] * 3
    assert kinds == {"POST /messages/private busy_503 (retried)": 2, "POST /messages/private ok": 1}


def test_busy_answers_give_up_after_the_last_attempt_and_report_busy() -> None:
    answer, seen, kinds = asyncio.run(_call_http(busy_answers=BUSY_ATTEMPTS + 3))
    assert answer.status == 503 and answer.kind == "busy_503"
    assert len(seen) == BUSY_ATTEMPTS
    assert kinds == {"POST /messages/private busy_503 (retried)": BUSY_ATTEMPTS - 1,
                     "POST /messages/private busy_503": 1}


def test_a_call_without_an_answer_is_not_repeated_unless_idempotent() -> None:
    answer, connections = asyncio.run(_call_silent_server(idempotent=False))
    assert answer.status == 0 and answer.kind.startswith("transport:")
    assert connections == 1


def test_an_idempotent_call_without_an_answer_is_repeated() -> None:
    answer, connections = asyncio.run(_call_silent_server(idempotent=True))
    assert answer.status == 0 and answer.kind.startswith("transport:")
    assert connections == TRANSPORT_ATTEMPTS

"""The HTTP API as a client sees it: one call → an `Answer` (status, envelope code, data, error kind)."""
from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp

# A 503 "busy" answer (AWS throttling outlasted the app's retries; nothing was committed) is retried after its
# Retry-After seconds, up to BUSY_ATTEMPTS. A call that got no answer is retried only when the caller marks it
# idempotent (sends: the same msg_client_id), up to TRANSPORT_ATTEMPTS.
BUSY_ATTEMPTS = 5
TRANSPORT_ATTEMPTS = 3
BUSY = 503
CODE = re.compile(r"\b(\d{6})\b")


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status, 0 when no answer came back
    code: int  # envelope code, 0 when there was no envelope
    data: Any
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.code == 200

    @property
    def kind(self) -> str:
        """What went wrong, as counted in the report: ok, http_5xx_500, http_401, code_1000, code_429, transport…"""
        if self.ok:
            return "ok"
        if self.status == 0:
            return f"transport:{self.message}"
        if self.status == BUSY:
            return "busy_503"
        if self.status >= 500:
            return f"http_5xx_{self.status}"
        if self.status != 200:
            return f"http_{self.status}"
        return f"code_{self.code}"


class Api:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout: float = 60.0) -> None:
        self.session = session
        self.base_url = base_url
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.kinds: Counter[str] = Counter()  # per route and kind, e.g. "POST /messages/private http_5xx_500"

    async def call(self, method: str, path: str, token: str = "", *, json: Any = None,
                   form: dict[str, Any] | None = None, multipart: dict[str, str] | None = None,
                   idempotent: bool = False) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = Answer(0, 0, None, "never sent")
        busy = lost = 0
        while True:
            body: Any = form
            if multipart is not None:
                body = aiohttp.FormData()
                for name, value in multipart.items():
                    body.add_field(name, value)
            try:
                async with self.session.request(method, self.base_url + path, json=json, data=body,
                                                headers=headers, timeout=self.timeout) as response:
                    answer = _parse(response.status, await response.text())
                    retry_after = float(response.headers.get("Retry-After") or 1)
                busy += answer.status == BUSY
                if answer.status != BUSY or busy == BUSY_ATTEMPTS:
                    break
                self.kinds[f"{method} {_route(path)} {answer.kind} (retried)"] += 1
                await asyncio.sleep(retry_after)
            except (TimeoutError, aiohttp.ClientError) as exc:
                answer = Answer(0, 0, None, type(exc).__name__)
                lost += 1
                if not idempotent or lost == TRANSPORT_ATTEMPTS:
                    break
                await asyncio.sleep(0.2 * lost)
        self.kinds[f"{method} {_route(path)} {answer.kind}"] += 1
        return answer


def _parse(status: int, text: str) -> Answer:
    try:
        envelope = json.loads(text)
    except ValueError:
        return Answer(status, 0, None, text[:200])
    if not isinstance(envelope, dict):
        return Answer(status, 0, None, text[:200])
    return Answer(status, int(envelope.get("code") or 0), envelope.get("data"), str(envelope.get("message", "")))


def _route(path: str) -> str:
    return path.split("?", 1)[0]


async def emailed_codes(session: aiohttp.ClientSession, aws_url: str, emails: set[str],
                        timeout: float = 30.0) -> dict[str, str]:
    """Registration codes from local SES (GET /moto-api/data.json → ses.Message), polled until all arrived."""
    found: dict[str, str] = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with session.get(f"{aws_url}/moto-api/data.json") as response:
            state = await response.json(content_type=None)
        for message in state.get("ses", {}).get("Message", []):
            code = CODE.search(message.get("body", ""))
            for address in message.get("destinations", {}).get("ToAddresses", []):
                if address in emails and code:
                    found[address] = code.group(1)
        if emails <= found.keys() or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.3)

"""Echoing every email the app sends through local SES to the console."""
from __future__ import annotations

import html
import json
import re
import urllib.request
from typing import Any

from infra.local.moto_server import MotoServer
from infra.local.polling import Polling

POLL_SECONDS = 1.0
TAG = re.compile(r"<(br|/p|/div|/h\d|/li)\b[^>]*>|<[^>]+>", re.IGNORECASE)


def data_url(aws_url: str) -> str:
    return f"{aws_url}/moto-api/data.json"


def sent_messages(aws_url: str) -> list[dict[str, Any]]:
    """moto's record of every email sent: `ses.Message` in /moto-api/data.json."""
    with urllib.request.urlopen(data_url(aws_url), timeout=10) as response:
        return list(json.load(response).get("ses", {}).get("Message", []))


def as_text(body: str) -> str:
    """moto keeps the HTML part when there is one; show it as readable text."""
    text = html.unescape(TAG.sub(lambda tag: "\n" if tag.group(1) else "", body))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def format_message(message: dict[str, Any]) -> str:
    destinations = message.get("destinations") or {}
    to = ", ".join(address for addresses in destinations.values() for address in addresses)
    body = "\n".join(f"  | {line}" for line in as_text(str(message.get("body", ""))).splitlines())
    return (f"--- email from {message.get('source', '')} to {to}\n"
            f"  Subject: {message.get('subject', '')}\n{body}")


class MailEcho(Polling):
    """Polls SES's send counter (cheap) and reads data.json only when it moved: data.json lists every object
    moto holds, table items included, so it grows with use."""

    name = "email echo"
    interval = POLL_SECONDS

    def __init__(self, aws: MotoServer, region: str) -> None:
        super().__init__()
        self._aws = aws
        self._region = region
        self._seen: set[str] = set()
        self._counted = 0.0
        self._ses: Any = None

    def tick(self) -> None:
        try:
            if self._ses is None:
                self._ses = self._aws.client("ses", self._region)
            self._echo_new(self._ses)
        except Exception:  # local AWS busy or stopping: try again next tick; the stack watches it anyway
            return

    def _echo_new(self, ses: Any) -> None:
        count = ses.get_send_quota()["SentLast24Hours"]
        if count == self._counted:
            return
        for message in sent_messages(self._aws.url):
            message_id = str(message.get("id", ""))
            if message_id not in self._seen:
                self._seen.add(message_id)
                print(format_message(message), flush=True)
        self._counted = count

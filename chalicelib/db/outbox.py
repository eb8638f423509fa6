"""Outbox items: the frames a committed write leaves for the delivery function, in that write's transaction."""
from __future__ import annotations

import json
import uuid
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.db import keys
from chalicelib.db.models import Outbox

# Long enough for the stream (24 h retention) to have been read; the item itself is never read again.
RETENTION_SECONDS = 2 * 86400

Delivery = tuple[int, dict[str, Any]]


def add(tx: TransactWrite, conversation: str, deliveries: list[Delivery], now: float) -> None:
    """Adds one Outbox item to `tx` in `conversation`'s partition (nothing when there is nothing to deliver), so its
    frames reach their recipients in order with that conversation's messages."""
    if not deliveries:
        return
    tx.save(Outbox(conversation, keys.outbox_sk(f"{int(now * 1000):015d}#{uuid.uuid4().hex[:12]}"),
                   deliveries=json.dumps(deliveries, ensure_ascii=False, separators=(",", ":")),
                   expires_at=int(now) + RETENTION_SECONDS))


def deliveries_of(item: Outbox) -> list[Delivery]:
    return [(int(user_id), frame) for user_id, frame in json.loads(item.deliveries)]

"""The bot's learned replies, per user."""
from __future__ import annotations

from chalicelib.db import conflicts, keys
from chalicelib.db.models import BotMemory


@conflicts.retrying()
def remember(user_id: int, key: str, reply: str) -> None:
    BotMemory(keys.user_pk(user_id), keys.bot_memory_sk(key), reply=reply).save()


def recall(user_id: int, key: str) -> str | None:
    try:
        return BotMemory.get(keys.user_pk(user_id), keys.bot_memory_sk(key)).reply
    except BotMemory.DoesNotExist:
        return None

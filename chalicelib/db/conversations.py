"""Conversation heads: the last sequence and last message of a private pair or a group."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.db import keys
from chalicelib.db.models import Conversation, Item


@dataclass(frozen=True)
class ConversationHead:
    key: str
    last_seq: int
    last_content: str
    last_msg_type: int
    last_sender: int
    last_send_time: float
    last_recalled_msg_type: int = 0
    blocked_by: frozenset[int] = frozenset()  # private pairs: who of the two blocks the other (db/blocks.py)


def head_record(item: Conversation) -> ConversationHead:
    """The preview is the newest message's text unless a recall or an edit of it wrote `last_content`."""
    preview = (item.last_content if item.last_content is not None
               else str(json.loads(item.sent).get("content", ""))[:200] if item.sent else "")
    return ConversationHead(item.PK, int(item.last_seq), preview, int(item.last_msg_type),
                            int(item.last_sender), float(item.last_send_time), int(item.last_recalled_msg_type),
                            frozenset(int(user_id) for user_id in item.blocked_by or ()))


def heads(conversation_keys: Iterable[str]) -> dict[str, ConversationHead]:
    wanted = set(conversation_keys)
    if not wanted:
        return {}
    return {item.PK: head_record(item) for item in Item.batch_get([(key, keys.CONVERSATION_META_SK) for key in wanted])
            if isinstance(item, Conversation)}


def head(conversation_key: str, *, consistent: bool = False) -> ConversationHead | None:
    try:
        return head_record(Conversation.get(conversation_key, keys.CONVERSATION_META_SK, consistent_read=consistent))
    except Conversation.DoesNotExist:
        return None

"""Reactions: one per user per emoji, at most 20 distinct emoji a message, each a single emoji grapheme. Members
(both sides of a private conversation) get frame 1009 with the counts each change committed (db/reactions.py);
history items carry `reactions: [{emoji, count, me}]`, one Query per page."""
from __future__ import annotations

from typing import Any

from chalicelib.db import reactions
from chalicelib.errors import InvalidInput
from chalicelib.http.emoji import is_single_emoji
from chalicelib.security import limits
from chalicelib.services.message_targets import locate, refuse_if_blocked

MAX_EMOJI = 20


def react(me: int, *, to_id: int, channel_type: int, seq: int, emoji: str, on: int) -> dict[str, Any]:
    """Reacting twice with one emoji, or taking back a reaction never given, changes nothing. Takes `messages`
    units as a frame to the conversation (*Limits*) once its checks passed."""
    if not is_single_emoji(emoji):
        raise InvalidInput("emoji must be a single emoji")
    located = locate(me, to_id, channel_type, seq)
    message = located.message
    if message.recalled_at:
        raise InvalidInput("a recalled message cannot be reacted to")
    refuse_if_blocked(located)
    limits.spend("messages", me, limits.message_units(located.recipients, emoji), "too many message actions")
    try:
        change = reactions.react(located.conversation, seq, emoji, me, bool(on), MAX_EMOJI,
                                 {"form_id": message.form_id, "to_id": message.to_id,
                                  "channel_type": message.channel_type})
    except reactions.TooManyEmoji as full:
        raise InvalidInput(f"a message can have at most {MAX_EMOJI} different emoji") from full
    return {"id": seq, "to_id": to_id, "channel_type": channel_type, "emoji": emoji, "count": change.count,
            "on": on}


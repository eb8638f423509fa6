"""Chat frames of a conversation its recipient muted carry `muted: 1` (they still arrive: the client decides how
quiet to be). A group member's mute is on the membership the delivery reads for the fan-out; a private recipient's
is on their session, read in the batch's one BatchGetItem of connections."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.db import keys
from chalicelib.db.models import Item, Session
from chalicelib.db.mutes import in_force
from chalicelib.db.sessions import PRIVATE
from chalicelib.ws import frames

Planned = list[tuple[int, dict[str, Any]]] | None
Muted = set[tuple[int, int, int]]  # (user, channel type, peer or group id)


def _conversation_of(user_id: int, frame: dict[str, Any]) -> tuple[int, int, int]:
    channel = int(frame["channel_type"])
    return user_id, channel, int(frame["form_id"] if channel == PRIVATE else frame["to_id"])


def _chats(planned: Iterable[Planned]) -> Iterable[tuple[int, dict[str, Any]]]:
    for deliveries in planned:
        for user_id, frame in deliveries or ():
            if frame.get("msg_code") == frames.CHAT:
                yield user_id, frame


def session_keys(planned: Iterable[Planned]) -> list[tuple[str, str]]:
    """The sessions of private chat frames' recipients, to read with their connections."""
    wanted = {_conversation_of(user_id, frame) for user_id, frame in _chats(planned)
              if frame["channel_type"] == PRIVATE}
    return [(keys.user_pk(user_id), keys.session_sk(channel, peer)) for user_id, channel, peer in sorted(wanted)]


def muted_sessions(items: Iterable[Item], now: float) -> Muted:
    return {(int(item.owner_id), int(item.channel_type), int(item.to_id or item.group_id)) for item in items
            if isinstance(item, Session) and in_force(float(item.mute_until or 0), now)}


def mark(planned: Iterable[Planned], muted: Muted) -> None:
    for user_id, frame in _chats(planned):
        if _conversation_of(user_id, frame) in muted:
            frame["muted"] = 1

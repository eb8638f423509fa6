"""Editing text messages: by their sender, within 24 hours, at most 10 times, never after a recall. The previous
versions are kept and listed to the conversation's members; both sides (or the members) get frame 1008 from the
delivery function. An edit changes the text only: whom a message mentioned and notified stays as it was sent."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.clock import wire_time
from chalicelib.config import get_settings
from chalicelib.db import conflicts, edits
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits
from chalicelib.services.message_targets import locate, refuse_if_blocked

EDIT_WINDOW_SECONDS = 24 * 3600
MAX_EDITS = 10


def edit(me: int, *, to_id: int, channel_type: int, seq: int, content: str) -> dict[str, Any]:
    """Takes `messages` units like a send of the new text (once its checks passed); an edit to the same text
    changes nothing and takes nothing. Racing edits of one message are applied one after the other: the loser of
    a race reads again and decides again (the limit included)."""
    if len(content) > get_settings().message_max_chars:
        raise InvalidInput(f"content must be at most {get_settings().message_max_chars} characters")
    spent: list[bool] = []

    @conflicts.retrying()
    def attempt() -> dict[str, Any]:
        now = clock.now()
        located = locate(me, to_id, channel_type, seq)
        message = located.message
        if message.form_id != me:
            raise Forbidden("you can only edit your own messages")
        if message.recalled_at:
            raise InvalidInput("a recalled message cannot be edited")
        if message.msg_type != edits.TEXT:
            raise InvalidInput("only text messages can be edited")
        if message.send_time < now - EDIT_WINDOW_SECONDS:
            raise InvalidInput("messages can only be edited within 24 hours of sending")
        refuse_if_blocked(located)
        if content == message.content:
            return _answer(located.message.form_id, located.message.to_id, channel_type, seq, content,
                           message.edited_at, message.edit_count)
        if message.edit_count >= MAX_EDITS:
            raise InvalidInput(f"a message can be edited at most {MAX_EDITS} times")
        if not spent:
            limits.spend("messages", me, limits.message_units(located.recipients, content), "too many message actions")
            spent.append(True)
        edits.edit(message, content, now, is_last=located.is_last, not_before=now - EDIT_WINDOW_SECONDS,
                   refused_by=located.refused_by)
        return _answer(me, message.to_id, channel_type, seq, content, now, message.edit_count + 1)

    return attempt()


def _answer(form_id: int, to_id: int, channel_type: int, seq: int, content: str, edited_at: float, count: int
            ) -> dict[str, Any]:
    return {"id": seq, "form_id": form_id, "to_id": to_id, "channel_type": channel_type, "content": content,
            "edited": 1 if count else 0, "edited_at": wire_time(edited_at) if edited_at else "", "edit_count": count}


def versions(me: int, *, to_id: int, channel_type: int, seq: int) -> dict[str, Any]:
    """The current text and the previous ones, oldest first (one BatchGetItem, one Query); a recalled message's
    versions are gone with it."""
    located = locate(me, to_id, channel_type, seq)
    message = located.message
    if message.recalled_at:
        raise InvalidInput("this message was recalled")
    previous = edits.versions(located.conversation, seq) if message.edit_count else []
    return {**_answer(message.form_id, message.to_id, channel_type, seq, message.content, message.edited_at,
                      message.edit_count),
            "versions": [{"version": version.version, "content": version.content,
                          "written_at": wire_time(version.written_at), "replaced_at": wire_time(version.replaced_at)}
                         for version in previous]}

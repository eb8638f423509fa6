"""Who may speak in a group, and whether a conversation is muted for its member (db/mutes.py keeps the state)."""
from __future__ import annotations

from chalicelib.db.groups import ADMIN, OWNER
from chalicelib.db.mutes import FOREVER, Speaker, in_force
from chalicelib.errors import Forbidden, wait_in_words


def check_may_speak(speaker: Speaker, now: float) -> None:
    """A silenced member, or any member but the owner and admins while the whole group is silenced, gets 1003
    saying for how long. Read from the items the send reads anyway."""
    if in_force(speaker.silenced_until, now):
        how_long = "until an owner or admin lifts it" if speaker.silenced_until == FOREVER else \
            f"for {wait_in_words(int(speaker.silenced_until - now + 0.999))} more"
        raise Forbidden(f"you are silenced in this group {how_long}")
    if speaker.mute_all and speaker.role not in (OWNER, ADMIN):
        raise Forbidden("the whole group is silenced: only the owner and admins may speak")


def muted(until: float, now: float) -> int:
    return 1 if in_force(until, now) else 0

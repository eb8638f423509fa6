"""Work that follows a committed write: the write stands whatever happens here."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.logs import log_exception


def after_commit(step: str, action: Callable[[], object], **fields: Any) -> None:
    """Runs a follow-up (a fan-out, reviving a session, the bot's greeting or reply). Its failure is logged for
    operators and never answered: the caller's request succeeded, and repeating it would only find its write
    already done."""
    try:
        action()
    except Exception:
        log_exception("after commit failed", step=step, **fields)

"""Whether a signed, unexpired token was ended (logout, logout everywhere, password reset).

HTTP requests read the token's state once per process per CACHE_SECONDS (one BatchGetItem of two keys), so a
token ended elsewhere is refused everywhere within CACHE_SECONDS, and at once by the process that ended it.
`$connect` checks the same state exactly, as conditions of its own write (chalicelib/db/tokens.py).
"""
from __future__ import annotations

import threading

from chalicelib import clock
from chalicelib.db import tokens
from chalicelib.errors import Unauthorized
from chalicelib.security.tokens import Claims

CACHE_SECONDS = 60
MAX_CACHED = 10_000
ENDED = "this token was ended (logged out or password changed); please log in again"

_lock = threading.Lock()
_checked: dict[str, tuple[float, bool]] = {}  # jti → (checked at, live)
_known_epochs: dict[int, int] = {}  # user id → the highest epoch this process has seen


def _remember(jti: str, now: float, live: bool) -> None:
    with _lock:
        if len(_checked) >= MAX_CACHED:
            _checked.clear()
        _checked[jti] = (now, live)


def _raise_epoch(user_id: int, epoch: int) -> None:
    with _lock:
        if epoch > _known_epochs.get(user_id, 0):
            _known_epochs[user_id] = epoch


def ensure_live(claims: Claims) -> None:
    now = clock.now()
    if claims.epoch < _known_epochs.get(claims.user_id, 0):
        raise Unauthorized(ENDED)
    cached = _checked.get(claims.jti)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        live = cached[1]
    else:
        state = tokens.read_state(claims.user_id, claims.jti)
        _raise_epoch(claims.user_id, state.epoch)
        live = not state.revoked and claims.epoch >= state.epoch
        _remember(claims.jti, now, live)
    if not live:
        raise Unauthorized(ENDED)


def ended_token(claims: Claims) -> None:
    """This process refuses the token at once; the others within CACHE_SECONDS."""
    _remember(claims.jti, clock.now(), False)


def ended_all(user_id: int, epoch_at_least: int) -> None:
    _raise_epoch(user_id, epoch_at_least)


def forget() -> None:
    """Tests start each case on an empty table, where user ids repeat."""
    with _lock:
        _checked.clear()
        _known_epochs.clear()

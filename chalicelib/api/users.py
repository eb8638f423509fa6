"""User profiles."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import enum, integer, obj
from chalicelib.services import receipts, users

bp = Blueprint(__name__)

USER_ID = obj({"id": integer()}, required=["id"])
SETTINGS = obj({"read_receipts": enum(0, 1, description="0 turns read receipts off, both ways (1011 frames, is_read)")},
               required=["read_receipts"])


@endpoint(bp, "/user/{id}", ["GET"], schema=USER_ID, summary="A user's public profile (email only to themself)")
def get_user(call: Call) -> Any:
    return users.get_profile(call.user_id, call.params["id"])


@endpoint(bp, "/user", ["PUT"], schema=SETTINGS, summary="My own settings: read_receipts")
def update_settings(call: Call) -> Any:
    return receipts.set_setting(call.user_id, read_receipts=call.params["read_receipts"])

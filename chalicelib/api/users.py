"""User profiles."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import integer, obj
from chalicelib.services import users

bp = Blueprint(__name__)

USER_ID = obj({"id": integer()}, required=["id"])


@endpoint(bp, "/user/{id}", ["GET"], schema=USER_ID, summary="A user's public profile (email only to themself)")
def get_user(call: Call) -> Any:
    return users.get_profile(call.user_id, call.params["id"])

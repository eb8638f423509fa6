"""Public profiles."""
from __future__ import annotations

from typing import Any

from chalicelib.clock import wire_time
from chalicelib.db import friends, users
from chalicelib.db.users import User
from chalicelib.errors import InvalidInput


def profile_shape(user: User, *, show_email: bool) -> dict[str, Any]:
    """§2.4 UserDetails; the email only where the caller may see it."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email if show_email else "",
        "avatar": user.avatar,
        "status": 0,
        "bio": user.bio,
        "sex": user.sex,
        "age": user.age,
        "last_login_time": wire_time(user.last_login_time),
        "uid": user.uid,
    }


def get_profile(caller_id: int, user_id: int) -> dict[str, Any]:
    """The email shows to the user themself and to their friends."""
    user = users.get_user(user_id)
    if user is None:
        raise InvalidInput("user does not exist")
    show_email = caller_id == user_id or friends.get_friendship(caller_id, user_id) is not None
    return profile_shape(user, show_email=show_email)

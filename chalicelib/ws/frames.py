"""WebSocket frame codes (`msg_code`) and the frames the server builds, as the web client reads them."""
from __future__ import annotations

from typing import Any

CHAT = 200
ERROR = 500
VIDEO = 600
FRIEND_REQUEST = 1000
FRIEND_ACCEPTED = 1001
FRIEND_REJECTED = 1002
HEARTBEAT = 1004
ONLINE_STATUS_OFFLINE = 2000
ONLINE_STATUS_ONLINE = 2001
SESSION = 2003


def error_frame(message: str) -> dict[str, Any]:
    return {"msg_code": ERROR, "message": message}

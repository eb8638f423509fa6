"""The conversation list (owner-scoped)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import display_text, enum, integer, obj
from chalicelib.services import sessions
from chalicelib.services.sessions import NOTE_MAX

bp = Blueprint(__name__)

SESSION_ID = obj({"id": integer()}, required=["id"])
OPEN = obj({"id": integer(), "type": enum(1, 2, description="channel type: 1 private, 2 group")},
           required=["id", "type"])
CHANGE = obj({"id": integer(), "top_status": enum(0, 1), "note": display_text(max_length=NOTE_MAX),
              "read_seq": integer(minimum=0),
              "mute_until": integer(minimum=-1, description="mute for me until then (unix seconds); 0 unmutes, -1 "
                                    "for ever; frames still arrive, marked muted: 1")}, required=["id"])


@endpoint(bp, "/sessions", ["GET"], summary="My sessions: pinned first, then most recent; `{}` when empty")
def list_sessions(call: Call) -> Any:
    return sessions.list_sessions(call.user_id)


@endpoint(bp, "/sessions", ["POST"], schema=OPEN, summary="My session with a peer: existing (revived) or new")
def open_session(call: Call) -> Any:
    return sessions.open_session(call.user_id, call.params["id"], call.params["type"])


@endpoint(bp, "/sessions/{id}", ["PUT"], schema=CHANGE,
          summary="Pin/unpin, set a note, mark read up to read_seq, or mute")
def update_session(call: Call) -> Any:
    p = call.params
    return sessions.update_session(call.user_id, p["id"], top_status=p.get("top_status"), note=p.get("note"),
                                   read_seq=p.get("read_seq"), mute_until=p.get("mute_until"))


@endpoint(bp, "/sessions/{id}", ["DELETE"], schema=SESSION_ID, summary="Remove one of my sessions")
def delete_session(call: Call) -> Any:
    sessions.delete_session(call.user_id, call.params["id"])
    return {}

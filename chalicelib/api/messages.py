"""Private (and, by channel_type, group) messages: send, history, recall, video signalling."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.errors import InvalidInput
from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import array, enum, integer, obj, string
from chalicelib.services import edits, groups, messages, pins, reactions

bp = Blueprint(__name__)

SEND_FIELDS = {
    "msg_client_id": integer(description="client-chosen id; a retry with the same id returns the original"),
    "to_id": integer(description="peer user id (channel 1) or group id (channel 2)"),
    "channel_type": enum(1, 2, description="1 private, 2 group; routes the message whatever the path"),
    "msg_type": enum(1, 2, 3, 4, description="1 text, 2 voice, 3 file, 4 image"),
    "message": string(min_length=1, max_length=20000, description="text or a file URL (limit MESSAGE_MAX_CHARS)"),
    "data": string(max_length=2048, description="optional extra payload, at most 2 KB"),
    "reply_to": integer(description="the history id of the message of this conversation this one replies to"),
    "at_ids": array(integer(), max_items=50, description="group sends: the members mentioned (at most 50)"),
    "at_all": enum(0, 1, description="group sends: 1 mentions every member (the owner and admins only)"),
}
SEND = obj(SEND_FIELDS, required=["msg_client_id", "to_id", "msg_type", "message"])
HISTORY = obj({"to_id": integer(), "page": integer(description="id cursor: messages with id below it"),
               "pageSize": integer(description="default 50, capped at 100")}, required=["to_id"])
RECALL = obj({"to_id": integer(), "id": integer(description="the message's history id"),
              "channel_type": enum(1, 2)}, required=["to_id", "id"])
ANSWER_TEXT = {"type": "string"}  # answers carry stored text as it is, whatever its length
MESSAGE_IN = {"to_id": integer(description="peer user id (channel 1) or group id (channel 2)"),
              "channel_type": enum(1, 2, description="1 private (default), 2 group"),
              "id": integer(description="the message's history id")}
EDIT = obj({**MESSAGE_IN, "content": string(min_length=1, max_length=20000,
                                            description="the new text (limit MESSAGE_MAX_CHARS)")},
           required=["to_id", "id", "content"])
EDITED = obj({"id": integer(), "form_id": integer(), "to_id": integer(), "channel_type": enum(1, 2),
              "content": ANSWER_TEXT, "edited": enum(0, 1),
              "edited_at": {"type": "string", "description": "\"\" when never edited"},
              "edit_count": integer(minimum=0)})
EDITS = obj(MESSAGE_IN, required=["to_id", "id"])
VERSIONS = obj({**EDITED["properties"], "versions": {"type": "array", "description": "previous texts, oldest first",
                                                     "items": obj({"version": integer(minimum=0),
                                                                   "content": ANSWER_TEXT, "written_at": ANSWER_TEXT,
                                                                   "replaced_at": ANSWER_TEXT})}})
PIN = obj({**MESSAGE_IN, "on": enum(0, 1, description="1 pin (default), 0 unpin")}, required=["to_id", "id"])
PINNED = obj({"id": integer(), "to_id": integer(), "channel_type": enum(1, 2), "pinned": enum(0, 1)})
PINS = obj({"to_id": MESSAGE_IN["to_id"], "channel_type": MESSAGE_IN["channel_type"]}, required=["to_id"])
PIN_LIST = {"type": "array", "description": "newest pin first (at most 50)", "items": obj({
    "id": integer(), "pinned_by": integer(), "pinned_at": ANSWER_TEXT,
    "message": obj({"id": integer(), "msg_id": integer(), "form_id": integer(), "to_id": integer(),
                    "channel_type": enum(1, 2), "msg_type": integer(), "msg": ANSWER_TEXT, "data": ANSWER_TEXT,
                    "created_at": ANSWER_TEXT, "recalled": enum(0, 1), "recalled_msg_type": integer(minimum=0),
                    "edited": enum(0, 1), "edited_at": ANSWER_TEXT,
                    "Users": obj({"id": integer(), "name": ANSWER_TEXT, "avatar": ANSWER_TEXT})})})}
REACT = obj({**MESSAGE_IN, "emoji": string(min_length=1, max_length=64, description="a single emoji grapheme "
                                            "(flags, keycaps, skin tones and ZWJ sequences included)"),
             "on": enum(0, 1, description="1 react (default), 0 take it back")}, required=["to_id", "id", "emoji"])
REACTED = obj({"id": integer(), "to_id": integer(), "channel_type": enum(1, 2), "emoji": ANSWER_TEXT,
               "count": integer(minimum=0, description="the emoji's count now"), "on": enum(0, 1)})
VIDEO = obj({"to_id": integer(),
             "type": {"type": "string", "enum": list(messages.VIDEO_SIGNALS), "description": "default invite"},
             "data": string(max_length=16384, description="opaque SDP/ICE payload, at most 16 KB")},
            required=["to_id"])


def _raw_page(call: Call) -> str:
    """`mate.page` echoes the cursor as the client sent it (a string, "" when absent)."""
    query = call.request.query_params
    return query.get("page", "") if query else ""


def _send(call: Call, default_channel: int) -> Any:
    p = call.params
    data = p.get("data")
    if data is not None and len(data.encode("utf-8")) > 2048:
        raise InvalidInput("data must be at most 2 KB")
    return messages.send(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", default_channel),
                         msg_type=p["msg_type"], message=p["message"], data=data, msg_client_id=p["msg_client_id"],
                         reply_to=p.get("reply_to"), at_ids=p.get("at_ids"), at_all=p.get("at_all", 0))


@endpoint(bp, "/messages/private", ["POST"], schema=SEND, summary="Send a message (channel_type 1 by default)")
def send_private(call: Call) -> Any:
    return _send(call, 1)


@endpoint(bp, "/messages/group", ["POST"], schema=SEND, summary="Send a message (channel_type 2 by default)")
def send_group(call: Call) -> Any:
    return _send(call, 2)


@endpoint(bp, "/messages", ["GET"], schema=HISTORY,
          summary="Private history with a peer, newest page first; items carry edited, edited_at and reactions "
                  "[{emoji, count, me}]")
def history(call: Call) -> Any:
    p = call.params
    return messages.history(call.user_id, to_id=p["to_id"], page=p.get("page"), page_size=p.get("pageSize"),
                            raw_page=_raw_page(call))


@endpoint(bp, "/messages/groups", ["GET"], schema=HISTORY,
          summary="Group history (members only), Go-cased keys; items also carry edited, edited_at and reactions "
                  "[{emoji, count, me}]")
def group_history(call: Call) -> Any:
    p = call.params
    return groups.history(call.user_id, group_id=p["to_id"], page=p.get("page"), page_size=p.get("pageSize"),
                          raw_page=_raw_page(call))


@endpoint(bp, "/messages/recall", ["POST"], schema=RECALL, summary="Recall my message within the window")
def recall(call: Call) -> Any:
    p = call.params
    if p.get("channel_type", 1) == 2:
        return groups.recall(call.user_id, group_id=p["to_id"], seq=p["id"])
    return messages.recall(call.user_id, to_id=p["to_id"], seq=p["id"])


@endpoint(bp, "/messages/video", ["POST"], schema=VIDEO, summary="Relay a video-call signal to a friend")
def video(call: Call) -> Any:
    p = call.params
    return messages.video(call.user_id, to_id=p["to_id"], signal=p.get("type", "invite"), data=p.get("data"))


@endpoint(bp, "/messages/edit", ["POST"], schema=EDIT, response=EDITED,
          summary="Edit my text message: within 24 h, at most 10 times, not after a recall; both sides get 1008")
def edit(call: Call) -> Any:
    p = call.params
    return edits.edit(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", 1), seq=p["id"],
                      content=p["content"])


@endpoint(bp, "/messages/edits", ["GET"], schema=EDITS, response=VERSIONS,
          summary="A message's current text and its previous versions (members of the conversation only)")
def edit_versions(call: Call) -> Any:
    p = call.params
    return edits.versions(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", 1), seq=p["id"])


@endpoint(bp, "/messages/pin", ["POST"], schema=PIN, response=PINNED,
          summary="Pin (on=1) or unpin (on=0) a message: either side of a private chat, a group's owner and admins")
def pin(call: Call) -> Any:
    p = call.params
    return pins.pin(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", 1), seq=p["id"],
                    on=p.get("on", 1))


@endpoint(bp, "/messages/pins", ["GET"], schema=PINS, response=PIN_LIST,
          summary="A conversation's pinned messages, newest first, each with the message (members only)")
def pinned(call: Call) -> Any:
    p = call.params
    return pins.pinned(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", 1))


@endpoint(bp, "/messages/react", ["POST"], schema=REACT, response=REACTED,
          summary="React to a message with one emoji (on=1) or take it back (on=0); members get 1009")
def react(call: Call) -> Any:
    p = call.params
    return reactions.react(call.user_id, to_id=p["to_id"], channel_type=p.get("channel_type", 1), seq=p["id"],
                           emoji=p["emoji"], on=p.get("on", 1))

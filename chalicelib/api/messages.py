"""Private (and, by channel_type, group) messages: send, history, recall, video signalling."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.errors import InvalidInput
from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import array, enum, integer, obj, string
from chalicelib.services import groups, messages

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


@endpoint(bp, "/messages", ["GET"], schema=HISTORY, summary="Private history with a peer, newest page first")
def history(call: Call) -> Any:
    p = call.params
    return messages.history(call.user_id, to_id=p["to_id"], page=p.get("page"), page_size=p.get("pageSize"),
                            raw_page=_raw_page(call))


@endpoint(bp, "/messages/groups", ["GET"], schema=HISTORY, summary="Group history (members only), Go-cased keys")
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

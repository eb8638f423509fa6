"""Groups and share invites."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.errors import InvalidInput
from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import array, display_text, enum, integer, obj, string, validate
from chalicelib.services import group_mutes, groups, receipts

bp = Blueprint(__name__)

MEMBER_IDS = array(integer(), max_items=500)
STORE = obj({"name": display_text(min_length=2, max_length=20), "info": display_text(min_length=2, max_length=255),
             "avatar": string(min_length=1, max_length=500), "theme": string(max_length=100),
             "password": string(max_length=72), "is_pwd": enum(0, 1), "select_user": MEMBER_IDS},
            required=["name", "info", "avatar"])
JOIN = obj({"id": integer(), "token": string(max_length=64, description="share token from POST /invite/{id}"),
            "password": string(max_length=72)}, required=["id"])
CHANGE = obj({"group_id": integer(), "type": enum(1, 2, description="1 add, 2 remove"), "select_user": MEMBER_IDS},
             required=["group_id", "type", "select_user"])
GROUP_OR_SESSION = obj({"id": integer(description="group id, or my session id for the group")}, required=["id"])
REVOKE = obj({"id": string(min_length=1, max_length=64, description="the share token (path parameter)")},
             required=["id"])
INVITE = obj({"id": integer(), "expire_seconds": integer(minimum=60, maximum=30 * 86400,
                                                          description="default 7 days, at most 30 days"),
              "max_uses": integer(minimum=1, maximum=10000, description="absent: unlimited")}, required=["id"])


@endpoint(bp, "/groups/store", ["POST"], schema=STORE, summary="Create a group with friends; I become the owner")
def store(call: Call) -> Any:
    p = call.params
    return groups.create_group(call.user_id, name=p["name"], info=p["info"], avatar=p["avatar"],
                               theme=p.get("theme", ""), password=p.get("password"), is_pwd=p.get("is_pwd", 0),
                               select_user=p.get("select_user", []))


@endpoint(bp, "/groups/applyJoin/{id}", ["POST"], schema=JOIN,
          summary="Join a group: with a share token, its password, or nothing for an open group")
def apply_join(call: Call) -> Any:
    p = call.params
    return groups.apply_join(call.user_id, p["id"], token=p.get("token"), password=p.get("password"))


@endpoint(bp, "/groups/createOrRemoveUser", ["POST"], schema=CHANGE,
          summary="Owner or admin: add friends (1) or remove members (2)")
def create_or_remove_user(call: Call) -> Any:
    p = call.params
    return groups.create_or_remove(call.user_id, group_id=p["group_id"], action=p["type"],
                                   select_user=p["select_user"])


@endpoint(bp, "/groups/list", ["GET", "POST"], summary="My groups")
def list_groups(call: Call) -> Any:
    return groups.list_groups(call.user_id)


@endpoint(bp, "/groups/users/{id}", ["GET", "POST"], schema=GROUP_OR_SESSION, summary="Members of my group")
def group_users(call: Call) -> Any:
    return groups.group_users(call.user_id, call.params["id"])


@endpoint(bp, "/groups/{id}", ["DELETE"], schema=GROUP_OR_SESSION,
          summary="Leave a group (ownership passes on; the last member dissolves it)")
def leave(call: Call) -> Any:
    return groups.leave(call.user_id, call.params["id"])

MUTE = obj({"id": integer(), "user_id": integer(description="the member to silence"),
            "seconds": integer(minimum=0, maximum=group_mutes.MAX_SILENCE_SECONDS,
                               description="how long (0 lifts the silence), at most 30 days"),
            "all": enum(0, 1, description="instead of user_id: 1 silences the whole group, 0 lifts it")},
           required=["id"])


@endpoint(bp, "/groups/{id}/mute", ["POST"], schema=MUTE,
          summary="Owner or admin: silence a member for `seconds`, or the whole group (`all`); members get a notice")
def mute(call: Call) -> Any:
    p = call.params
    if ("all" in p) == ("user_id" in p):
        raise InvalidInput("send either user_id (with seconds) or all")
    if "all" in p:
        return group_mutes.silence_all(call.user_id, p["id"], on=p["all"] == 1)
    if "seconds" not in p:
        raise InvalidInput("seconds is required with user_id")
    return group_mutes.silence(call.user_id, p["id"], user_id=p["user_id"], seconds=p["seconds"])


READS = obj({"id": integer(description="the group id (path); the message's history id is the query's `id`")},
            required=["id"])
MESSAGE_ID = obj({"id": integer(description="the message's history id")}, required=["id"])


@endpoint(bp, "/groups/{id}/reads", ["GET"], schema=READS,
          summary="Members only: how many members read message `?id=` (and who, for groups of up to 100)")
def reads(call: Call) -> Any:
    query = call.request.query_params
    message = validate(MESSAGE_ID, {"id": query.get("id") if query else None})
    return receipts.group_reads(call.user_id, call.params["id"], message["id"])


@endpoint(bp, "/invite/{id}", ["POST"], schema=INVITE,
          summary="Create a share token for group {id} (its owner or an admin)")
def invite(call: Call) -> Any:
    p = call.params
    return groups.create_invite(call.user_id, p["id"], expire_seconds=p.get("expire_seconds"),
                                max_uses=p.get("max_uses"))


@endpoint(bp, "/invite/{id}", ["DELETE"], schema=REVOKE,
          summary="Revoke share token {id} (the group's owner or an admin); joining with it fails from then on")
def revoke_invite(call: Call) -> Any:
    return groups.revoke_invite(call.user_id, call.params["id"])

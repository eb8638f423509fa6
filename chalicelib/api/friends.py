"""Friends, friend requests, user search, presence and the address book."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import display_text, enum, integer, obj, string
from chalicelib.services import blocks, friends

bp = Blueprint(__name__)

USER_ID = obj({"id": integer()}, required=["id"])
RECORD_ID = obj({"id": integer()}, required=["id"])
NEW_REQUEST = obj({"to_id": integer(), "information": display_text(min_length=1, max_length=200)},
                  required=["to_id", "information"])
ANSWER = obj({"id": integer(), "status": enum(1, 2, description="1 accept, 2 reject")}, required=["id", "status"])
BLOCK = obj({"user_id": integer(description="the user to block")}, required=["user_id"])
ANSWER_TEXT = {"type": "string"}
BLOCKED_USER = obj({"id": integer(), "name": ANSWER_TEXT, "avatar": ANSWER_TEXT, "blocked": enum(0, 1)})
BLOCKED_LIST = {"type": "array", "items": obj({"id": integer(), "name": ANSWER_TEXT, "avatar": ANSWER_TEXT,
                                               "created_at": {"type": "string", "description": "when I blocked them"}})}
SEARCH = obj({"email": string(max_length=254, description="exact email, or a name prefix when it has no @"),
              "name": string(max_length=20, description="case-insensitive name prefix")})


@endpoint(bp, "/friends", ["GET", "POST"], summary="My friends with `Users`, pinned first")
def list_friends(call: Call) -> Any:
    return friends.list_friends(call.user_id)


@endpoint(bp, "/friends/block", ["POST"], schema=BLOCK, response=BLOCKED_USER,
          summary="Block a user: they cannot send me private messages or friend requests, nor find me in userQuery")
def block_user(call: Call) -> Any:
    return blocks.block(call.user_id, call.params["user_id"])


@endpoint(bp, "/friends/block/{user_id}", ["DELETE"], schema=BLOCK, response=BLOCKED_USER,
          summary="Unblock a user I blocked")
def unblock_user(call: Call) -> Any:
    return blocks.unblock(call.user_id, call.params["user_id"])


@endpoint(bp, "/friends/blocked", ["GET"], response=BLOCKED_LIST, summary="Users I blocked, newest first")
def blocked_users(call: Call) -> Any:
    return blocks.blocked(call.user_id)


@endpoint(bp, "/friends/{id}", ["GET"], schema=USER_ID,
          summary="The relation between me and user {id}, with that user's id/name/email/avatar at the top level")
def friend_detail(call: Call) -> Any:
    return friends.friend_detail(call.user_id, call.params["id"])


@endpoint(bp, "/friends/{id}", ["DELETE"], schema=USER_ID, summary="Unfriend user {id} (both directions)")
def remove_friend(call: Call) -> Any:
    friends.remove_friend(call.user_id, call.params["id"])
    return {}


@endpoint(bp, "/friends/status/{id}", ["GET"], schema=USER_ID, summary="2001 online / 2000 offline (friends or me)")
def online_status(call: Call) -> Any:
    return friends.online_status(call.user_id, call.params["id"])


@endpoint(bp, "/friends/record", ["POST"], schema=NEW_REQUEST, summary="Send a friend request")
def send_request(call: Call) -> Any:
    return friends.send_request(call.user_id, call.params["to_id"], call.params["information"])


@endpoint(bp, "/friends/record", ["GET"], summary="Friend requests I received and sent, newest first")
def list_requests(call: Call) -> Any:
    return friends.list_requests(call.user_id)


@endpoint(bp, "/friends/record", ["PUT"], schema=ANSWER, summary="Accept (1) or reject (2) a request I received")
def answer_request(call: Call) -> Any:
    return friends.answer_request(call.user_id, call.params["id"], call.params["status"])


@endpoint(bp, "/friends/record/{id}", ["DELETE"], schema=RECORD_ID, summary="Delete a request I am a party of")
def delete_request(call: Call) -> Any:
    friends.delete_request(call.user_id, call.params["id"])
    return {}


@endpoint(bp, "/friends/userQuery", ["GET"], schema=SEARCH,
          summary="Users I can add: exact email or name prefix; never me or my friends; at most 5")
def search_users(call: Call) -> Any:
    return friends.search_users(call.user_id, call.params.get("email") or call.params.get("name") or "")


@endpoint(bp, "/address/list", ["GET", "POST"], summary="My friends and groups in one envelope")
def address_list(call: Call) -> Any:
    return friends.address_list(call.user_id)

"""圈组 "server group" routes (NetEase-QChat-like servers). See docs/server-groups.md."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import Schema, array, display_text, enum, integer, obj, string
from chalicelib.services import server_groups

bp = Blueprint(__name__)

MAX_IDS = 100
MAX_PAGE = 100
DEFAULT_PAGE = 20

SERVER_ID = integer(description="numeric server id")
FIELDS: dict[str, Schema] = {
    "name": display_text(min_length=1, max_length=50),
    "icon": string(max_length=500, pattern=r"^https?://\S+$", description="absolute http(s) URL of the icon"),
    "custom": string(max_length=2048, description="opaque client extension, e.g. JSON text"),
    "inviteMode": enum(0, 1, description="0 the invitee must agree (default), 1 no agreement needed"),
    "applyMode": enum(0, 1, description="0 join without approval (default), 1 approval required"),
    "searchType": integer(minimum=0, maximum=100, description="client-defined category, default 0"),
    "searchEnable": enum(0, 1, description="1 searchable (default), 0 not searchable"),
}
# wire name → service keyword
KEYWORDS = {"name": "name", "icon": "icon", "custom": "custom", "inviteMode": "invite_mode",
            "applyMode": "apply_mode", "searchType": "search_type", "searchEnable": "search_enable"}

CREATE = obj(FIELDS, required=["name"])
UPDATE = obj({"serverId": SERVER_ID, **FIELDS}, required=["serverId"])
REMOVE = obj({"serverId": SERVER_ID}, required=["serverId"])
GET_MANY = obj({"serverIds": array(SERVER_ID, max_items=MAX_IDS, minItems=1,
                                   description=f"1–{MAX_IDS} ids (`serverIds[]` in forms); duplicates ignored")},
               required=["serverIds"])
PAGE = obj({"timetag": integer(minimum=0, description="createTime (ms) cursor: servers created before it; "
                                                      "0 or absent = from the newest"),
            "limit": integer(minimum=1, maximum=MAX_PAGE, description=f"page size, default {DEFAULT_PAGE}")})


def _fields(params: dict[str, Any]) -> dict[str, Any]:
    return {KEYWORDS[name]: value for name, value in params.items() if name in KEYWORDS}


@endpoint(bp, "/server_groups/createServer", ["POST"], schema=CREATE,
          summary="Create a server I own (at most 100 live servers per owner)")
def create_server(call: Call) -> Any:
    fields = _fields(call.params)
    return server_groups.create_server(call.user_id, fields.pop("name"), **fields)


@endpoint(bp, "/server_groups/updateServer", ["POST"], schema=UPDATE,
          summary="Change any of a server's fields (owner only); answers the updated server")
def update_server(call: Call) -> Any:
    return server_groups.update_server(call.user_id, call.params["serverId"], _fields(call.params))


@endpoint(bp, "/server_groups/removeServer", ["POST"], schema=REMOVE,
          summary="Remove a server (owner only; soft delete, frees a place in the owner's quota)")
def remove_server(call: Call) -> Any:
    server_groups.remove_server(call.user_id, call.params["serverId"])
    return {}


@endpoint(bp, "/server_groups/getServers", ["POST"], schema=GET_MANY,
          summary="Live servers by id, in the requested order; unknown and removed ids, and others' "
                  "unsearchable (searchEnable 0) servers, are left out")
def get_servers(call: Call) -> Any:
    return server_groups.get_servers(call.user_id, call.params["serverIds"])


@endpoint(bp, "/server_groups/getServerListPage", ["POST"], schema=PAGE,
          summary="My live servers newest first, paged by the createTime cursor `timetag`")
def get_server_list_page(call: Call) -> Any:
    return server_groups.list_page(call.user_id, call.params.get("timetag"),
                                   call.params.get("limit", DEFAULT_PAGE))

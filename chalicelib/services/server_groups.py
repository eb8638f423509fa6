"""圈组 servers (modelled on NetEase QChat servers): create, update, remove, batch get, the owner's pages.

Membership is out of scope, so memberNumber is always 1 (the owner). See docs/server-groups.md.
"""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.db import counters
from chalicelib.db import server_groups as servers
from chalicelib.db.server_groups import Contention, QuotaExceeded, ServerRecord
from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.security import limits

MAX_SERVERS_PER_OWNER = 100
SERVER_ID_COUNTER = "server"
UPDATABLE = ("name", "icon", "custom", "invite_mode", "apply_mode", "search_type", "search_enable")


def server_shape(record: ServerRecord) -> dict[str, Any]:
    """The public view of a server: every field is readable by any logged-in user."""
    return {
        "serverId": record.id,
        "name": record.name,
        "icon": record.icon,
        "custom": record.custom,
        "inviteMode": record.invite_mode,
        "applyMode": record.apply_mode,
        "searchType": record.search_type,
        "searchEnable": record.search_enable,
        "owner": record.owner_id,
        "memberNumber": record.member_number,
        "createTime": record.create_time,
        "updateTime": record.update_time,
        "validFlag": record.valid_flag,
    }


def create_server(me: int, name: str, *, icon: str = "", custom: str = "", invite_mode: int = 0,
                  apply_mode: int = 0, search_type: int = 0, search_enable: int = 1,
                  max_live: int = MAX_SERVERS_PER_OWNER) -> dict[str, Any]:
    limits.spend("creations", me, 1, "too many invites and groups created")
    now = clock.now_ms()
    record = ServerRecord(id=counters.next_value(SERVER_ID_COUNTER), owner_id=me, name=name.strip(),
                          create_time=now, update_time=now, icon=icon, custom=custom, invite_mode=invite_mode,
                          apply_mode=apply_mode, search_type=search_type, search_enable=search_enable)
    try:
        stored = servers.create(record, max_live)
    except QuotaExceeded as exceeded:
        raise InvalidInput(f"you already own {max_live} servers, the most allowed; remove one first"
                           ) from exceeded
    except Contention as contention:
        raise InvalidInput("too many servers are being created at once; please retry") from contention
    return server_shape(stored)


def _owned_live(me: int, server_id: int, action: str) -> ServerRecord:
    record = servers.get(server_id)
    if record is None or not record.live:
        raise InvalidInput("server not found")
    if record.owner_id != me:
        raise Forbidden(f"only the owner of this server can {action} it")
    return record


def update_server(me: int, server_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Partial update by the owner; `changes` holds any of UPDATABLE (at least one)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(f"these fields cannot be updated: {', '.join(sorted(unknown))}")
    if not changes:
        raise InvalidInput("nothing to update: give at least one of name, icon, custom, inviteMode, applyMode, "
                           "searchType, searchEnable")
    if "name" in changes:
        changes = dict(changes, name=changes["name"].strip())
    _owned_live(me, server_id, "update")
    updated = servers.update(server_id, me, clock.now_ms(), **changes)
    if updated is None:
        raise InvalidInput("server not found")
    return server_shape(updated)


def remove_server(me: int, server_id: int) -> None:
    _owned_live(me, server_id, "remove")
    if not servers.remove(server_id, me, clock.now_ms()):
        raise InvalidInput("server not found")


def get_servers(me: int, server_ids: list[int]) -> dict[str, Any]:
    """Live servers among `server_ids`, in the requested order; unknown or removed ids, and servers their owner
    made unsearchable (searchEnable 0) unless I am that owner, are left out."""
    wanted = list(dict.fromkeys(server_ids))
    found = servers.get_many(wanted)
    return {"servers": [server_shape(found[server_id]) for server_id in wanted
                        if server_id in found and found[server_id].live
                        and (found[server_id].search_enable or found[server_id].owner_id == me)]}


def list_page(me: int, timetag: int | None, limit: int) -> dict[str, Any]:
    """My live servers newest first, created before `timetag` (ms; None or 0 = from the newest)."""
    records, has_more = servers.page_by_owner(me, timetag or None, limit)
    return {"servers": [server_shape(record) for record in records], "hasMore": has_more,
            "nextTimetag": records[-1].create_time if records else 0}

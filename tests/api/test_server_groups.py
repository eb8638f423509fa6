"""圈组 server routes through the HTTP API: create, update, remove, batch get, the owner's pages."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.db import server_groups as servers_db
from chalicelib.db.server_groups import ServerRecord
from chalicelib.errors import InvalidInput
from chalicelib.services import server_groups as servers_service
from tests.support.factories import JSON, post_form, register

DEFAULTS = {"icon": "", "custom": "", "inviteMode": 0, "applyMode": 0, "searchType": 0, "searchEnable": 1,
            "memberNumber": 1, "validFlag": 1}


def call(client, route, fields, user):
    return post_form(client, f"/server_groups/{route}", fields, user["token"]).json_body


def create(client, user, name="stamps", **fields):
    answer = call(client, "createServer", {"name": name, **fields}, user)
    assert answer["code"] == 200, answer
    return answer["data"]


def get_servers(client, user, ids):
    answer = call(client, "getServers", {"serverIds": ids}, user)
    assert answer["code"] == 200, answer
    return answer["data"]["servers"]


def page(client, user, **fields):
    answer = call(client, "getServerListPage", fields, user)
    assert answer["code"] == 200, answer
    return answer["data"]


# ---- createServer -------------------------------------------------------------------------------------------


def test_create_with_defaults_answers_the_server(client):
    me = register(client)
    before = int(time.time() * 1000)
    server = create(client, me, name="Penny Blacks")
    assert isinstance(server["serverId"], int) and server["serverId"] > 0
    assert server["name"] == "Penny Blacks" and server["owner"] == me["id"]
    assert {key: server[key] for key in DEFAULTS} == DEFAULTS
    assert before <= server["createTime"] <= int(time.time() * 1000) + 1
    assert server["updateTime"] == server["createTime"]
    assert set(server) == {"serverId", "name", "owner", "createTime", "updateTime", *DEFAULTS}
    assert get_servers(client, me, [server["serverId"]]) == [server]


def test_create_with_every_field_as_json(client):
    me = register(client)
    custom = json.dumps({"topic": "airmail", "tags": ["1930s"]})
    body = {"name": "Airmail", "icon": "https://cdn.example.com/a.png", "custom": custom, "inviteMode": 1,
            "applyMode": 1, "searchType": 100, "searchEnable": 0}
    answer = client.http.post("/server_groups/createServer", body=json.dumps(body).encode(),
                              headers=dict(JSON, authorization=f"Bearer {me['token']}")).json_body
    assert answer["code"] == 200, answer
    server = answer["data"]
    assert {key: server[key] for key in body} == body
    assert server["memberNumber"] == 1 and server["validFlag"] == 1


def test_ids_are_distinct_numbers(client):
    me, other = register(client), register(client)
    ids = [create(client, me)["serverId"], create(client, other)["serverId"], create(client, me)["serverId"]]
    assert len(set(ids)) == 3 and ids == sorted(ids)


@pytest.mark.parametrize("fields, message", [
    ({}, "name is required"),
    ({"name": ""}, "name is required"),
    ({"name": "   "}, "name is required"),
    ({"name": "x" * 51}, "name must be at most 50 characters"),
    ({"name": "ok", "icon": "javascript:alert(1)"}, "icon has an invalid format"),
    ({"name": "ok", "icon": "https://e.com/" + "a" * 487}, "icon must be at most 500 characters"),
    ({"name": "ok", "custom": "c" * 2049}, "custom must be at most 2048 characters"),
    ({"name": "ok", "inviteMode": 2}, "inviteMode must be one of 0, 1"),
    ({"name": "ok", "inviteMode": "12abc"}, "inviteMode must be an integer"),
    ({"name": "ok", "applyMode": -1}, "applyMode must be one of 0, 1"),
    ({"name": "ok", "applyMode": "one"}, "applyMode must be an integer"),
    ({"name": "ok", "searchType": 101}, "searchType must be at most 100"),
    ({"name": "ok", "searchType": -1}, "searchType must be at least 0"),
    ({"name": "ok", "searchType": "1.5"}, "searchType must be an integer"),
    ({"name": "ok", "searchEnable": 2}, "searchEnable must be one of 0, 1"),
])
def test_create_rejects_bad_input(client, fields, message):
    me = register(client)
    answer = call(client, "createServer", fields, me)
    assert (answer["code"], answer["message"]) == (1000, message)
    assert page(client, me)["servers"] == []


def test_routes_need_a_token(client):
    for route in ("createServer", "updateServer", "removeServer", "getServers", "getServerListPage"):
        answer = post_form(client, f"/server_groups/{route}", {"name": "x", "serverId": 1, "serverIds": [1]})
        assert answer.status_code == 401 and answer.json_body["code"] == 401


@pytest.fixture
def more_creations(monkeypatch):
    """Creating a hundred servers in a row is a script's pace: the per-account quota is raised for it."""
    from chalicelib.config import reset_caches

    monkeypatch.setenv("QUOTA_CREATIONS", "200/200")
    reset_caches()
    yield
    reset_caches()


def test_at_most_100_live_servers_per_owner(client, more_creations):
    me, other = register(client), register(client)
    for index in range(servers_service.MAX_SERVERS_PER_OWNER - 1):
        servers_service.create_server(me["id"], f"s{index}")
    last = create(client, me, name="the hundredth")
    refused = call(client, "createServer", {"name": "one too many"}, me)
    assert refused["code"] == 1000 and "100" in refused["message"]
    assert create(client, other)["owner"] == other["id"]  # the quota is per owner
    assert call(client, "removeServer", {"serverId": last["serverId"]}, me)["code"] == 200
    assert create(client, me, name="room again")["name"] == "room again"
    assert call(client, "createServer", {"name": "full again"}, me)["code"] == 1000
    assert len(page(client, me, limit=100)["servers"]) == 100


def test_the_quota_holds_under_concurrent_creates(aws):
    owner, limit = 7001, 3

    def attempt(index: int) -> bool:
        try:
            servers_service.create_server(owner, f"race{index}", max_live=limit)
            return True
        except InvalidInput as refused:
            assert "already own 3 servers" in refused.message
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(12)))
    assert results.count(True) == limit
    listed, has_more = servers_db.page_by_owner(owner, None, 100)
    assert len(listed) == limit and not has_more


def test_create_times_are_unique_per_owner_even_in_one_millisecond(aws):
    owner, at = 7002, 1_700_000_000_000
    stored = [servers_db.create(ServerRecord(id=900 + index, owner_id=owner, name=f"n{index}", create_time=at,
                                             update_time=at), max_live=100) for index in range(4)]
    assert [record.create_time for record in stored] == [at, at + 1, at + 2, at + 3]
    assert all(record.update_time == record.create_time for record in stored)
    listed, _ = servers_db.page_by_owner(owner, None, 10)
    assert [record.id for record in listed] == [903, 902, 901, 900]


# ---- updateServer -------------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields(client):
    me = register(client)
    server = create(client, me, name="old", icon="https://e.com/i.png", custom="{}", searchType=3)
    time.sleep(0.002)
    answer = call(client, "updateServer", {"serverId": server["serverId"], "name": "new", "searchEnable": 0,
                                           "applyMode": 1}, me)
    assert answer["code"] == 200, answer
    updated = answer["data"]
    assert updated["updateTime"] > server["updateTime"]
    assert updated == dict(server, name="new", searchEnable=0, applyMode=1, updateTime=updated["updateTime"])
    assert get_servers(client, me, [server["serverId"]]) == [updated]
    again = call(client, "updateServer", {"serverId": server["serverId"], "inviteMode": 1, "searchType": 0,
                                          "custom": "x" * 2048, "icon": "http://e.com/j.png"}, me)["data"]
    assert (again["inviteMode"], again["searchType"], again["custom"], again["icon"], again["name"]) == (
        1, 0, "x" * 2048, "http://e.com/j.png", "new")


@pytest.mark.parametrize("fields, message", [
    ({"name": "x"}, "serverId is required"),
    ({"serverId": "12abc", "name": "x"}, "serverId must be an integer"),
    ({"serverId": 0, "name": "x"}, "serverId must be at least 1"),
    ({"serverId": "{id}"}, "nothing to update: give at least one of name, icon, custom, inviteMode, applyMode, "
                           "searchType, searchEnable"),
    ({"serverId": "{id}", "name": "   "}, "nothing to update: give at least one of name, icon, custom, inviteMode, "
                                          "applyMode, searchType, searchEnable"),
    ({"serverId": "{id}", "name": "x" * 51}, "name must be at most 50 characters"),
    ({"serverId": "{id}", "icon": "ftp://e.com/a.png"}, "icon has an invalid format"),
    ({"serverId": "{id}", "custom": "c" * 2049}, "custom must be at most 2048 characters"),
    ({"serverId": "{id}", "inviteMode": 5}, "inviteMode must be one of 0, 1"),
    ({"serverId": "{id}", "applyMode": "1x"}, "applyMode must be an integer"),
    ({"serverId": "{id}", "searchType": 101}, "searchType must be at most 100"),
    ({"serverId": "{id}", "searchEnable": -1}, "searchEnable must be one of 0, 1"),
    ({"serverId": 9_999_999, "name": "x"}, "server not found"),
])
def test_update_rejects_bad_input(client, fields, message):
    me = register(client)
    server = create(client, me)
    fields = {key: server["serverId"] if value == "{id}" else value for key, value in fields.items()}
    answer = call(client, "updateServer", fields, me)
    assert (answer["code"], answer["message"]) == (1000, message)
    assert get_servers(client, me, [server["serverId"]]) == [server]


# ---- authorization ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route, fields", [
    ("updateServer", {"name": "hijacked"}),
    ("updateServer", {"searchEnable": 0, "custom": "mine now"}),
    ("removeServer", {}),
])
def test_only_the_owner_may_change_a_server(client, route, fields):
    owner, stranger = register(client), register(client)
    server = create(client, owner)
    answer = call(client, route, {"serverId": server["serverId"], **fields}, stranger)
    assert answer["code"] == 1003 and "owner" in answer["message"]
    assert get_servers(client, stranger, [server["serverId"]]) == [server]
    assert [s["serverId"] for s in page(client, owner)["servers"]] == [server["serverId"]]
    assert page(client, stranger)["servers"] == []


def test_strangers_can_read_but_pages_list_only_my_servers(client):
    owner, stranger = register(client), register(client)
    server = create(client, owner)
    assert get_servers(client, stranger, [server["serverId"]]) == [server]
    assert page(client, stranger) == {"servers": [], "hasMore": False, "nextTimetag": 0}


# ---- removeServer -------------------------------------------------------------------------------------------


def test_remove_is_soft_and_hides_the_server(client):
    me = register(client)
    kept, removed = create(client, me, name="kept"), create(client, me, name="removed")
    answer = call(client, "removeServer", {"serverId": removed["serverId"]}, me)
    assert (answer["code"], answer["data"]) == (200, {})
    assert get_servers(client, me, [removed["serverId"], kept["serverId"]]) == [kept]
    assert [s["serverId"] for s in page(client, me)["servers"]] == [kept["serverId"]]
    stored = servers_db.get(removed["serverId"])
    assert stored is not None and stored.valid_flag == 0 and stored.update_time >= removed["updateTime"]
    twice = call(client, "removeServer", {"serverId": removed["serverId"]}, me)
    assert (twice["code"], twice["message"]) == (1000, "server not found")
    update = call(client, "updateServer", {"serverId": removed["serverId"], "name": "back"}, me)
    assert (update["code"], update["message"]) == (1000, "server not found")


@pytest.mark.parametrize("fields, message", [
    ({}, "serverId is required"),
    ({"serverId": "12abc"}, "serverId must be an integer"),
    ({"serverId": -3}, "serverId must be at least 1"),
    ({"serverId": 9_999_999}, "server not found"),
])
def test_remove_rejects_bad_input(client, fields, message):
    me = register(client)
    answer = call(client, "removeServer", fields, me)
    assert (answer["code"], answer["message"]) == (1000, message)


# ---- getServers ---------------------------------------------------------------------------------------------


def test_get_servers_keeps_the_requested_order_and_skips_unknown_ids(client):
    me, other = register(client), register(client)
    a, b, c = create(client, me, name="a"), create(client, other, name="b"), create(client, me, name="c")
    ids = [c["serverId"], 9_999_999, a["serverId"], b["serverId"], c["serverId"], a["serverId"]]
    assert get_servers(client, me, ids) == [c, a, b]
    assert get_servers(client, me, [9_999_998]) == []


def test_get_servers_accepts_json_arrays(client):
    me = register(client)
    a, b = create(client, me, name="a"), create(client, me, name="b")
    answer = client.http.post("/server_groups/getServers", body=json.dumps({"serverIds": [b["serverId"],
                                                                                          a["serverId"]]}).encode(),
                              headers=dict(JSON, authorization=f"Bearer {me['token']}")).json_body
    assert answer["code"] == 200 and [s["name"] for s in answer["data"]["servers"]] == ["b", "a"]


@pytest.mark.parametrize("fields, message", [
    ({}, "serverIds is required"),
    ({"serverIds": []}, "serverIds is required"),
    ({"serverIds": list(range(1, 102))}, "serverIds may hold at most 100 items"),
    ({"serverIds": [1, "12abc"]}, "serverIds[] must be an integer"),
    ({"serverIds": [0]}, "serverIds.0 must be at least 1"),
])
def test_get_servers_rejects_bad_input(client, fields, message):
    me = register(client)
    answer = call(client, "getServers", fields, me)
    assert (answer["code"], answer["message"]) == (1000, message)


def test_get_servers_takes_100_ids(client):
    me = register(client)
    server = create(client, me)
    ids = [server["serverId"], *range(10_000_000, 10_000_099)]
    assert get_servers(client, me, ids) == [server]


# ---- getServerListPage --------------------------------------------------------------------------------------


def test_pages_return_each_server_once_newest_first(client):
    me, other = register(client), register(client)
    created = [create(client, me, name=f"s{index}")["serverId"] for index in range(7)]
    create(client, other, name="not mine")
    first = page(client, me, limit=3)
    second = page(client, me, limit=3, timetag=first["nextTimetag"])
    third = page(client, me, limit=3, timetag=second["nextTimetag"])
    assert (first["hasMore"], second["hasMore"], third["hasMore"]) == (True, True, False)
    seen = [s["serverId"] for p in (first, second, third) for s in p["servers"]]
    assert seen == list(reversed(created))
    for shown in (first, second, third):
        assert shown["nextTimetag"] == shown["servers"][-1]["createTime"]
    times = [s["createTime"] for p in (first, second, third) for s in p["servers"]]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
    after = page(client, me, limit=3, timetag=third["nextTimetag"])
    assert after == {"servers": [], "hasMore": False, "nextTimetag": 0}


def test_page_defaults_and_timetag_zero(client, more_creations):
    me = register(client)
    for index in range(22):
        servers_service.create_server(me["id"], f"s{index}")
    default = page(client, me)
    assert len(default["servers"]) == 20 and default["hasMore"] is True
    assert page(client, me, timetag=0) == default
    rest = page(client, me, timetag=default["nextTimetag"])
    assert [s["name"] for s in rest["servers"]] == ["s1", "s0"] and rest["hasMore"] is False


def test_removed_servers_vanish_from_pages(client):
    me = register(client)
    ids = [create(client, me, name=f"s{index}")["serverId"] for index in range(5)]
    for server_id in (ids[1], ids[3]):
        assert call(client, "removeServer", {"serverId": server_id}, me)["code"] == 200
    first = page(client, me, limit=2)
    second = page(client, me, limit=2, timetag=first["nextTimetag"])
    assert [s["serverId"] for s in first["servers"] + second["servers"]] == [ids[4], ids[2], ids[0]]
    assert (first["hasMore"], second["hasMore"]) == (True, False)


@pytest.mark.parametrize("fields, message", [
    ({"limit": 0}, "limit must be at least 1"),
    ({"limit": 101}, "limit must be at most 100"),
    ({"limit": "12abc"}, "limit must be an integer"),
    ({"timetag": "soon"}, "timetag must be an integer"),
    ({"timetag": -1}, "timetag must be at least 0"),
])
def test_page_rejects_bad_input(client, fields, message):
    me = register(client)
    answer = call(client, "getServerListPage", fields, me)
    assert (answer["code"], answer["message"]) == (1000, message)

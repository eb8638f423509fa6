"""Enumeration is slowed: user search is limited per user; unsearchable servers are their owner's (item 10)."""
from __future__ import annotations

import time
from types import SimpleNamespace

from tests.support.factories import get, post_form, register


def test_user_search_is_limited_per_user(client, monkeypatch):
    from chalicelib.security import limits

    at_once = time.time()  # the 31 searches come at one instant: the bucket's 30 and no refill
    monkeypatch.setattr(limits, "clock", SimpleNamespace(now=lambda: at_once))
    me, other = register(client), register(client)
    for index in range(30):
        assert get(client, "/friends/userQuery", me["token"], name=f"zz{index}").json_body["code"] == 200
    refused = get(client, "/friends/userQuery", me["token"], name="zz-more")
    assert refused.json_body["code"] == 429 and "too many user searches" in refused.json_body["message"]
    assert int(refused.headers["Retry-After"]) == 87  # one search refills in a day / 1000 = 86.4 s
    assert get(client, "/friends/userQuery", other["token"], name="zz").json_body["code"] == 200


def test_an_empty_search_costs_nothing(client):
    me = register(client)
    for _ in range(40):
        assert get(client, "/friends/userQuery", me["token"]).json_body == {"code": 200, "message": "Success",
                                                                            "data": []}


def test_an_unsearchable_server_is_returned_only_to_its_owner(client):
    owner, stranger = register(client), register(client)
    hidden = post_form(client, "/server_groups/createServer", {"name": "hidden", "searchEnable": 0},
                       owner["token"]).json_body["data"]
    shown = post_form(client, "/server_groups/createServer", {"name": "shown"}, owner["token"]).json_body["data"]
    ids = [hidden["serverId"], shown["serverId"]]

    def servers(user):
        answer = post_form(client, "/server_groups/getServers", {"serverIds": ids}, user["token"]).json_body
        return [server["serverId"] for server in answer["data"]["servers"]]

    assert servers(owner) == ids
    assert servers(stranger) == [shown["serverId"]]

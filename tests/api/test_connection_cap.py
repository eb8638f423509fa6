"""Connections per user are capped; the newest wins and the oldest is told why (item 9)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.db import connections
from chalicelib.ws import handlers
from tests.support.factories import register, ws_event


def connect(token: str, connection_id: str) -> int:
    return handlers.connect(ws_event("$connect", connection_id, query={"token": token}))["statusCode"]


def live_ids(user_id: int) -> set[str]:
    return {connection.connection_id for connection in connections.live_connections([user_id], clock.now())[user_id]}


def test_the_oldest_connection_is_closed_when_a_new_one_would_pass_the_cap(client, sender):
    user = register(client)
    cap = get_settings().max_connections_per_user
    assert cap == 10  # the default (README *Limits*: what ten sockets cost in a day)
    for index in range(cap):
        assert connect(user["token"], f"c{index:02d}") == 200
    assert sender.closed == []
    assert connect(user["token"], f"c{cap:02d}") == 200
    assert sender.closed == ["c00"]
    (frame,) = sender.frames_for("c00")
    assert frame["msg_code"] == 2005 and f"more than {cap} open connections" in frame["message"]
    assert live_ids(user["id"]) == {f"c{index:02d}" for index in range(1, cap + 1)}


def test_thirty_connections_at_once_leave_the_cap(client, sender):
    user = register(client)
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda index: connect(user["token"], f"p{index:02d}"), range(30)))
    assert statuses == [200] * 30
    live = live_ids(user["id"])
    assert len(live) == get_settings().max_connections_per_user
    assert set(sender.closed) | live == {f"p{index:02d}" for index in range(30)}
    assert not set(sender.closed) & live
    assert all(frame["msg_code"] == 2005 for closed in sender.closed for frame in sender.frames_for(closed))


def test_a_connection_taken_while_it_was_connecting_is_closed_on_its_first_frame(client, sender):
    user = register(client)
    assert connect(user["token"], "orphan") == 200
    connections.remove("orphan")  # as when a newer connection took its place before the gateway could close it
    recent = int(clock.now() * 1000)
    handlers.message(ws_event("$default", "orphan", body='{"msg_code":1004}', connected_at_ms=recent))
    assert sender.closed == ["orphan"] and sender.frames_for("orphan")[0]["msg_code"] == 2005


def test_the_cap_is_configurable(client, sender, monkeypatch):
    from chalicelib.config import reset_caches

    monkeypatch.setenv("MAX_CONNECTIONS_PER_USER", "2")
    reset_caches()
    user = register(client)
    for index in range(3):
        assert connect(user["token"], f"k{index}") == 200
    assert sender.closed == ["k0"] and live_ids(user["id"]) == {"k1", "k2"}

"""DynamoDB's billed units per operation (on-demand; tests/support/capacity.py meters them by DynamoDB's rules on
the in-process moto), exact: a change that adds a unit fails here, on purpose or not. `make bench` prices these
per million (tests/perf/bench.py `cost_per_million`). Every item below is under 1 KB unless said, so one write unit
each (two in a transaction), and under 4 KB, so one read unit each (half when eventually consistent)."""
from __future__ import annotations

import time

from chalicelib import clock
from chalicelib.db import groups as groups_db
from chalicelib.db.groups import MEMBER, OWNER, GroupRecord, NewMember
from chalicelib.ws import handlers
from tests.perf.test_messaging_budgets import settled_connection
from tests.support.factories import befriend, get, post_form, register, ws_event

MESSAGE_SIZE_KB = 3


def spent(units, part="request"):
    found = units.get(part)
    return (found.wru, found.rru) if found else (0, 0)


def by_call(units, part="request"):
    return {name: tuple(pair) for name, pair in units[part].by_call.items()}


def send(client, sender, to_id, text, msg_client_id=1, path="/messages/private"):
    answer = post_form(client, path, {"msg_client_id": msg_client_id, "to_id": to_id, "msg_type": 1,
                                      "message": text}, sender["token"]).json_body
    assert answer["code"] == 200, answer


def friends(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    settled_connection("b0", b["id"])
    return a, b


def test_a_private_message_costs_4_write_and_4_read_units_and_its_delivery_5_reads(client, sender, units):
    a, b = friends(client)
    units.clear()
    send(client, a, b["id"], "hi")
    # reads (consistent): the conversation head, the client-id claim, the friendship, my profile; writes: my
    # messages quota and the head carrying the message (UpdateItem each), the claim and the history item (PutItem)
    assert by_call(units) == {"BatchGetItem": (0, 4), "UpdateItem": (2, 0), "PutItem": (2, 0)}
    assert spent(units) == (4, 4)
    # the delivery's one consistent BatchGetItem: b's connection set, a failed batch's record, b's session (mute),
    # the message's claim and history item (db/messages.settle)
    assert by_call(units, "delivery") == {"BatchGetItem": (0, 5)}


def test_a_longer_message_costs_two_more_write_units_per_kilobyte(client, sender, units):
    """The head carries the message to its delivery, and the history item keeps it: each grows by a unit a KB."""
    a, b = friends(client)
    units.clear()
    send(client, a, b["id"], "x" * (MESSAGE_SIZE_KB * 1000))
    assert spent(units) == (4 + 2 * MESSAGE_SIZE_KB, 4)


def online_group(client, owner, size=50, group_id=9050):
    """A group of `size` (the owner and size − 1 members made for it), every member on a settled socket, and the
    owner's token checked once (budgets are for a token this process has checked)."""
    now = clock.now()
    group = GroupRecord(group_id, owner["id"], "fifty", "info", "", "", 0, None, 0, now, size)
    member_ids = [owner["id"]] + [50_000 + index for index in range(size - 1)]
    groups_db.create(group, [NewMember(uid, OWNER if uid == owner["id"] else MEMBER, None) for uid in member_ids],
                     now, {})
    for uid in member_ids:
        settled_connection(f"c{uid}", uid)
    get(client, "/friends", owner["token"])
    return group


def test_a_group_message_to_50_costs_4_writes_and_its_delivery_a_read_unit_per_member(client, sender, units):
    owner = register(client)
    group = online_group(client, owner)
    units.clear()
    send(client, owner, group.id, "hi all", path="/messages/group")
    # reads: head, claim, membership, profile, the group (its member count prices the quota); writes: the quota,
    # the head, the claim, the history item. No session is revived: members' sessions follow the group head
    assert by_call(units) == {"BatchGetItem": (0, 5), "UpdateItem": (2, 0), "PutItem": (2, 0)}
    # the member Query (50 small items, eventually consistent: half a unit per 4 KB, at least one); a consistent
    # read of each member's connection set, of the record a failed batch would have left, of the claim and of the
    # history item
    assert by_call(units, "delivery") == {"Query": (0, 1), "BatchGetItem": (0, 53)}


def test_history_pages_cost_reads_only_after_the_first(client, sender, units):
    a, b = friends(client)
    for n in range(3):
        send(client, a, b["id"], f"m{n}", msg_client_id=n + 1)
    units.clear()
    get(client, "/messages", b["token"], to_id=a["id"])
    # the first page moves b's read position (1), paces and counts the receipt it sends a (2 buckets)
    assert by_call(units) == {"BatchGetItem": (0, 3.5), "Query": (0, 1), "UpdateItem": (3, 0)}
    units.clear()
    get(client, "/messages", b["token"], to_id=a["id"], page=3)
    assert by_call(units) == {"BatchGetItem": (0, 3), "Query": (0, 1)}


def test_a_socket_costs_9_write_units_to_open_1_a_heartbeat_2_to_close(client, sender, units):
    a, _ = friends(client)
    units.clear()
    handlers.connect(ws_event("$connect", "units", query={"token": a["token"]}))
    # the connections quota, then the connection set (with this connection's token) and the owner item, in one
    # transaction: the set is the largest item a user has, up to 2 KB with several sockets
    assert by_call(units) == {"UpdateItem": (1, 0), "TransactWriteItems": (8, 0)}
    units.clear()
    handlers.message(ws_event("$default", "units", body='{"msg_code":1004}',
                              connected_at_ms=int(time.time() * 1000) - 60_000))
    assert by_call(units) == {"UpdateItem": (1, 0)}  # the heartbeat quota
    units.clear()
    handlers.disconnect(ws_event("$disconnect", "units"))
    assert by_call(units) == {"DeleteItem": (1, 0), "UpdateItem": (1, 0)}

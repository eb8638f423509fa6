"""圈组 server budgets: a page is one bounded Query whatever the table holds; a batch get is ⌈N/100⌉
BatchGetItem; a create is one counter update and one transaction."""
from __future__ import annotations

from chalicelib.db import server_groups as servers_db
from chalicelib.db.server_groups import ServerRecord
from chalicelib.services import server_groups as servers_service
from tests.support.factories import check_token_once, post_form, register

WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


def call(client, route, fields, user):
    answer = post_form(client, f"/server_groups/{route}", fields, user["token"]).json_body
    assert answer["code"] == 200, answer
    return answer["data"]


def seed_other_owners(count: int, first_id: int) -> None:
    """Live servers of other owners: data an owner's page must never read."""
    for index in range(count):
        at = 1_600_000_000_000 + index
        servers_db.create(ServerRecord(id=first_id + index, owner_id=500_000 + index % 7, name=f"other{index}",
                                       create_time=at, update_time=at), max_live=1000)


def measure_page(client, user, aws_calls, **fields):
    aws_calls.reset()
    data = call(client, "getServerListPage", fields, user)
    return dict(aws_calls.calls), aws_calls.scanned, data


def test_a_page_is_one_query_reading_at_most_limit_plus_one(client, aws_calls):
    me = register(client)
    check_token_once(client, me["token"])
    mine = [servers_service.create_server(me["id"], f"s{index}")["serverId"] for index in range(12)]
    removed = mine[-3:]
    for server_id in removed:
        servers_service.remove_server(me["id"], server_id)
    results = {}
    for others in (10, 300):
        seed_other_owners(others, first_id=10_000_000 + others * 1000)
        calls, scanned, data = measure_page(client, me, aws_calls, limit=5)
        second_calls, second_scanned, _ = measure_page(client, me, aws_calls, limit=5,
                                                        timetag=data["nextTimetag"])
        results[others] = (calls, scanned, second_calls, second_scanned)
        assert calls == {"dynamodb.Query": 1}, calls
        assert scanned <= 6 and second_scanned <= 6
        assert not {server["serverId"] for server in data["servers"]} & set(removed)
    assert results[10] == results[300]
    calls, scanned, data = measure_page(client, me, aws_calls, limit=100)
    assert calls == {"dynamodb.Query": 1} and scanned == 9 and len(data["servers"]) == 9


def test_get_servers_is_one_batch_get_per_100_ids(client, aws_calls):
    me = register(client)
    check_token_once(client, me["token"])
    ids = [servers_service.create_server(me["id"], f"s{index}")["serverId"] for index in range(3)]
    for count in (1, 3, 57, 100):
        wanted = (ids + list(range(20_000_000, 20_000_000 + count)))[:count]
        aws_calls.reset()
        data = call(client, "getServers", {"serverIds": wanted}, me)
        assert dict(aws_calls.calls) == {"dynamodb.BatchGetItem": 1}, (count, dict(aws_calls.calls))
        assert len(data["servers"]) == min(count, 3)


def test_batch_reads_scale_by_hundreds(aws, aws_calls):
    for count in (100, 101, 250):
        aws_calls.reset()
        servers_db.get_many(range(30_000_000, 30_000_000 + count))
        assert dict(aws_calls.calls) == {"dynamodb.BatchGetItem": -(-count // 100)}


def test_create_is_one_quota_write_one_counter_update_and_one_transaction(client, aws_calls):
    me = register(client)
    call(client, "createServer", {"name": "warm-up"}, me)
    aws_calls.reset()
    call(client, "createServer", {"name": "measured"}, me)
    assert dict(aws_calls.calls) == {"dynamodb.UpdateItem": 2, "dynamodb.TransactWriteItems": 1}


def test_update_and_remove_are_one_read_and_one_write(client, aws_calls):
    me = register(client)
    server_id = call(client, "createServer", {"name": "s"}, me)["serverId"]
    aws_calls.reset()
    call(client, "updateServer", {"serverId": server_id, "name": "t"}, me)
    assert dict(aws_calls.calls) == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 1}
    aws_calls.reset()
    call(client, "removeServer", {"serverId": server_id}, me)
    assert dict(aws_calls.calls) == {"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1}
    assert not any(name.split(".")[1] in WRITES - {"TransactWriteItems"} for name in aws_calls.calls)

"""What a typing notice costs: its frame quota (whose write answers the sender), one read of the relation, the pace
and the quota, one read of the recipients' connections and the posts; a paced one stops at the pace."""
from __future__ import annotations

import json

from chalicelib.ws import handlers
from tests.api.test_groups import make_group
from tests.perf.test_messaging_budgets import request_calls, settled_connection
from tests.support.factories import befriend, register, ws_event


def typing(connection_id, to_id, channel_type):
    body = json.dumps({"msg_code": 1010, "to_id": to_id, "channel_type": channel_type})
    handlers.message(ws_event("$default", connection_id, body=body))


def test_a_typing_relay_costs_five_calls_and_a_paced_one_three(client, sender, aws_calls):
    a, b, c = register(client), register(client), register(client)
    befriend(client, a, b)
    befriend(client, a, c)
    group = make_group(client, a, [b, c])
    settled_connection("a0", a["id"])
    for index in range(3):
        settled_connection(f"b{index}", b["id"])
    settled_connection("c0", c["id"])
    aws_calls.reset()
    typing("a0", b["id"], 1)
    # the connection's frame quota (which answers its owner), the pace and the typing quota (3 UpdateItem); my
    # profile and the friendship, then b's connections (2 BatchGetItem)
    assert request_calls(aws_calls) == {"dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 2}
    assert len(sender.sent) == 3
    aws_calls.reset()
    typing("a0", b["id"], 1)
    assert request_calls(aws_calls) == {"dynamodb.UpdateItem": 2, "dynamodb.BatchGetItem": 1}
    aws_calls.reset()
    typing("a0", group["id"], 2)
    # the group's members: one Query
    assert request_calls(aws_calls) == {"dynamodb.UpdateItem": 3, "dynamodb.BatchGetItem": 2, "dynamodb.Query": 1}
    assert len(sender.sent) == 3 + 4

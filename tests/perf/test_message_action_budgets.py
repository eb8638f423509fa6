"""Actions on stored messages (edit, pins, reactions): exact AWS calls per request, and what delivering them costs."""
from __future__ import annotations

import pytest

from tests.api.test_groups import make_group
from tests.perf.test_messaging_budgets import delivery_calls, request_calls, settled_connection, stream_events
from tests.support.factories import befriend, get, post_form, register


def text(client, me, to_id, channel_type=1, body="helo"):
    return post_form(client, "/messages/private", {"msg_client_id": abs(hash(body)) % 10**12, "to_id": to_id,
                                                   "channel_type": channel_type, "msg_type": 1, "message": body},
                     me["token"]).json_body["data"]


@pytest.mark.parametrize("channel_type", [1, 2])
def test_an_edit_is_one_read_one_quota_write_and_one_transaction(client, sender, aws_calls, channel_type):
    """One consistent BatchGetItem (message, head; in a group my membership and the group's size), the quota, one
    transaction (message, the version it replaces, the preview when it is the last message)."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    to_id = make_group(client, a, [b])["id"] if channel_type == 2 else b["id"]
    sent = text(client, a, to_id, channel_type)
    aws_calls.reset()
    answer = post_form(client, "/messages/edit", {"to_id": to_id, "channel_type": channel_type, "id": sent["id"],
                                                  "content": "hello"}, a["token"]).json_body
    assert answer["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 1,
                                        "dynamodb.TransactWriteItems": 1}
    aws_calls.reset()
    listed = get(client, "/messages/edits", b["token"], to_id=a["id"] if channel_type == 1 else to_id,
                 channel_type=channel_type, id=sent["id"]).json_body
    assert listed["code"] == 200 and len(listed["data"]["versions"]) == 1
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.Query": 1}


def test_delivering_an_edit_costs_what_delivering_a_message_costs(client, sender, aws_calls, deliver):
    """One BatchGetItem of both sides' connections (and the failed-batch record); a post per connection (the
    tests' sender is a fake, so posts are counted on it)."""
    from chalicelib.services import edits

    a, b = register(client), register(client)
    befriend(client, a, b)
    sent = text(client, a, b["id"])
    settled_connection("a0", a["id"])
    settled_connection("b0", b["id"])
    stream_events(deliver)
    edits.edit(a["id"], to_id=b["id"], channel_type=1, seq=sent["id"], content="hello")
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 1}
    assert [frame["msg_code"] for frame in sender.frames_for("a0") + sender.frames_for("b0")] == [1008, 1008]


@pytest.mark.parametrize("channel_type", [1, 2])
def test_a_pin_is_its_transaction_then_its_notice(client, sender, aws_calls, channel_type):
    """One BatchGetItem (message, head, my profile; in a group my membership and its size), the quota, one
    transaction (the message still there and not recalled, the pin, the board's count); then the notice, a send
    without its quota (one BatchGetItem, the head, the claim, the history item). Unpinning is one transaction; the
    list one Query and one BatchGetItem of the messages (a group's adds my membership)."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    to_id = make_group(client, a, [b])["id"] if channel_type == 2 else b["id"]
    sent = text(client, a, to_id, channel_type)
    aws_calls.reset()
    fields = {"to_id": to_id, "channel_type": channel_type, "id": sent["id"]}
    assert post_form(client, "/messages/pin", fields, a["token"]).json_body["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 2, "dynamodb.UpdateItem": 2,
                                        "dynamodb.TransactWriteItems": 1, "dynamodb.PutItem": 2}
    aws_calls.reset()
    assert get(client, "/messages/pins", a["token"], to_id=to_id, channel_type=channel_type).json_body["data"]
    assert request_calls(aws_calls) == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1,
                                        **({"dynamodb.GetItem": 1} if channel_type == 2 else {})}
    aws_calls.reset()
    assert post_form(client, "/messages/pin", {**fields, "on": 0}, a["token"]).json_body["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.TransactWriteItems": 1}


def test_a_reaction_is_one_read_the_quota_and_one_write(client, sender, aws_calls):
    """One BatchGetItem (message, head), the quota, one UpdateItem of the message's reactions, whenever it comes;
    the last user taking an emoji back adds one UpdateItem (the emoji leaves the distinct set)."""
    a, b = register(client), register(client)
    befriend(client, a, b)
    sent = text(client, a, b["id"])
    fields = {"to_id": b["id"], "id": sent["id"], "emoji": "👍"}
    aws_calls.reset()
    assert post_form(client, "/messages/react", fields, a["token"]).json_body["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2}
    aws_calls.reset()
    assert post_form(client, "/messages/react", {**fields, "emoji": "🎉"}, a["token"]).json_body["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 2}
    aws_calls.reset()
    assert post_form(client, "/messages/react", {**fields, "on": 0}, a["token"]).json_body["code"] == 200
    assert request_calls(aws_calls) == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 3}


def test_delivering_reactions_costs_one_read_a_batch_and_one_frame_a_connection_for_a_burst(
        client, sender, aws_calls, deliver):
    from chalicelib.services import reactions

    a, b = register(client), register(client)
    befriend(client, a, b)
    sent = text(client, a, b["id"])
    settled_connection("a0", a["id"])
    settled_connection("b0", b["id"])
    stream_events(deliver)
    reactions.react(b["id"], to_id=a["id"], channel_type=1, seq=sent["id"], emoji="👍", on=1)
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 1}
    reactions.react(b["id"], to_id=a["id"], channel_type=1, seq=sent["id"], emoji="🎉", on=1)
    reactions.react(a["id"], to_id=b["id"], channel_type=1, seq=sent["id"], emoji="🎉", on=1)
    assert delivery_calls(aws_calls, stream_events(deliver)) == {"dynamodb.BatchGetItem": 1}
    for connection_id in ("a0", "b0"):
        assert [(frame["msg_code"], frame["reactions"]) for frame in sender.frames_for(connection_id)] == [
            (1009, [{"emoji": "👍", "count": 1}]), (1009, [{"emoji": "👍", "count": 1}, {"emoji": "🎉", "count": 2}])]

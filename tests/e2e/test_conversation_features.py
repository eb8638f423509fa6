"""Beyond the origin, part 1, over the local stack with real HTTP and WebSockets: replies, mentions."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames, without_bot

pytestmark = pytest.mark.e2e


def befriend(a: User, b: User) -> None:
    record = a.call("POST", "/friends/record", to_id=b.id, information="hi")
    b.call("PUT", "/friends/record", id=record["id"], status=1)


def refused(user: User, path: str, **fields: Any) -> Any:
    """The whole envelope of a POST the API refuses (multipart, as the web client sends)."""
    parts = [(f"{key}[]" if isinstance(value, list) else key, (None, str(item)))
             for key, value in fields.items() for item in (value if isinstance(value, list) else [value])]
    response = requests.post(f"{user.stack.http_url}{path}", files=parts, timeout=10,
                             headers={"Authorization": f"Bearer {user.token}"})
    assert response.status_code == 200
    return response.json()


def chats(received: list[dict]) -> list[dict]:
    return [frame for frame in without_bot(received) if frame.get("msg_code") == 200]


def test_private_reply_and_recall_of_its_target(stack: RunningStack) -> None:
    a, b = User(stack), User(stack)
    befriend(a, b)
    with a.socket() as a_socket, b.socket() as b_socket:
        frames(a_socket, 10, 1), frames(b_socket, 10, 1)  # greetings and friend events
        question = a.call("POST", "/messages/private", msg_client_id=1, to_id=b.id, msg_type=1,
                          message="Do you have the 1840 Penny Black? " + "x" * 80)
        (asked,) = chats(frames(b_socket, 1))
        assert "reply_to" not in asked and "reply" not in asked
        answer = b.call("POST", "/messages/private", msg_client_id=2, to_id=a.id, msg_type=1, message="I do!",
                        reply_to=question["id"])
        quote = {"id": question["id"], "form_id": a.id, "msg_type": 1,
                 "content": ("Do you have the 1840 Penny Black? " + "x" * 80)[:100], "recalled": 0}
        assert (answer["reply_to"], answer["reply"]) == (question["id"], quote)
        (replied,) = chats(frames(a_socket, 1))
        assert (replied["message"], replied["id"], replied["form_id"]) == ("I do!", answer["id"], b.id)
        assert (replied["reply_to"], replied["reply"]) == (question["id"], quote)
        assert frames(b_socket, 1, 0.5) == []  # never echoed to the sender
        a.call("POST", "/messages/recall", to_id=b.id, id=question["id"])
        assert [f["msg_code"] for f in frames(b_socket, 1)] == [1007]
    for viewer, peer in ((a, b), (b, a)):
        listed = viewer.call("GET", "/messages", to_id=peer.id)["list"]
        assert [item["id"] for item in listed] == [question["id"], answer["id"]]
        assert listed[0]["recalled"] == 1 and "reply" not in listed[0]
        assert listed[1]["reply_to"] == question["id"]
        assert listed[1]["reply"] == {**quote, "content": "", "recalled": 1}


def test_group_reply_reaches_three_members(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="replies", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    with owner.socket() as o_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (o_socket, b_socket, c_socket):
            frames(client, 20, 1)
        first = b.call("POST", "/messages/group", msg_client_id=1, to_id=group["id"], msg_type=1, message="auction?")
        for client in (o_socket, b_socket, c_socket):
            assert [f["message"] for f in chats(frames(client, 1))] == ["auction?"]
        reply = c.call("POST", "/messages/group", msg_client_id=2, to_id=group["id"], msg_type=1, message="Sunday",
                       reply_to=first["id"])
        quote = {"id": first["id"], "form_id": b.id, "msg_type": 1, "content": "auction?", "recalled": 0}
        for client, member in ((o_socket, owner), (b_socket, b), (c_socket, c)):
            (frame,) = chats(frames(client, 1))
            assert (frame["message"], frame["id"], frame["user_id"]) == ("Sunday", reply["id"], member.id)
            assert (frame["reply_to"], frame["reply"]) == (first["id"], quote)
        bad = refused(c, "/messages/group", msg_client_id=3, to_id=group["id"], msg_type=1, message="x",
                         reply_to=reply["id"] + 5)
        assert bad == {"code": 1000, "message": "reply_to is not a message of this conversation", "data": {}}
    listed = owner.call("GET", "/messages/groups", to_id=group["id"])["list"]
    assert (listed[-1]["Message"], listed[-1]["reply_to"], listed[-1]["reply"]) == ("Sunday", first["id"], quote)


def group_session(user: User, group_id: int) -> dict:
    (session,) = [s for s in user.call("GET", "/sessions") if s["group_id"] == group_id]
    return session


def test_mentions_mark_the_mentioned_sessions_until_read(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="mentions", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    with owner.socket() as o_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (o_socket, b_socket, c_socket):
            frames(client, 20, 1)
        sent = b.call("POST", "/messages/group", msg_client_id=1, to_id=group["id"], msg_type=1, message="@c hi",
                      at_ids=[c.id])
        assert (sent["at_ids"], sent["at_all"]) == ([c.id], 0)
        for client in (o_socket, b_socket, c_socket):
            (frame,) = chats(frames(client, 1))
            assert (frame["message"], frame["id"], frame["at_ids"], frame["at_all"]) == ("@c hi", sent["id"], [c.id], 0)
        assert [group_session(user, group["id"])["at_me"] for user in (owner, b, c)] == [0, 0, 1]
        assert refused(b, "/messages/group", msg_client_id=2, to_id=group["id"], msg_type=1, message="all!",
                       at_all=1) == {"code": 1003, "data": {},
                                     "message": "only the owner or an admin can mention everyone (at_all)"}
        everyone = owner.call("POST", "/messages/group", msg_client_id=3, to_id=group["id"], msg_type=1,
                              message="meeting at 8", at_all=1)
        for client in (o_socket, b_socket, c_socket):
            (frame,) = chats(frames(client, 1))
            assert (frame["id"], frame["at_ids"], frame["at_all"]) == (everyone["id"], [], 1)
        assert [group_session(user, group["id"])["at_me"] for user in (owner, b, c)] == [0, 1, 1]
        c_session = group_session(c, group["id"])
        c.call("PUT", f"/sessions/{c_session['id']}", read_seq=sent["id"])
        assert group_session(c, group["id"])["at_me"] == 1  # the at_all is still unread
        listed = c.call("GET", "/messages/groups", to_id=group["id"])["list"]
        assert [(item["Message"], item["at_ids"], item["at_all"]) for item in listed[-2:]] == [
            ("@c hi", [c.id], 0), ("meeting at 8", [], 1)]
        assert group_session(c, group["id"])["at_me"] == 0

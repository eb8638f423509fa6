"""Beyond the origin, part 1, over the local stack with real HTTP and WebSockets: replies, mentions, mute,
typing, read receipts."""
from __future__ import annotations

import json
import time
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


def test_mute_a_conversation_and_silence_members(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="mute", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    with owner.socket() as o_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (o_socket, b_socket, c_socket):
            frames(client, 20, 1)
        # c mutes the group for an hour, and its private chat with the owner for ever
        until = int(time.time()) + 3600
        c.call("PUT", f"/sessions/{group_session(c, group['id'])['id']}", mute_until=until)
        (private,) = [s for s in c.call("GET", "/sessions") if s["to_id"] == owner.id]
        c.call("PUT", f"/sessions/{private['id']}", mute_until=-1)
        assert (group_session(c, group["id"])["mute_until"], group_session(c, group["id"])["muted"]) == (until, 1)
        sent = b.call("POST", "/messages/group", msg_client_id=1, to_id=group["id"], msg_type=1, message="quiet?")
        for client in (o_socket, b_socket):
            (frame,) = chats(frames(client, 1))
            assert frame["id"] == sent["id"] and "muted" not in frame
        (frame,) = chats(frames(c_socket, 1))
        assert (frame["id"], frame["message"], frame["muted"]) == (sent["id"], "quiet?", 1)
        owner.call("POST", "/messages/private", msg_client_id=2, to_id=c.id, msg_type=1, message="psst")
        (frame,) = chats(frames(c_socket, 1))
        assert (frame["message"], frame["form_id"], frame["muted"]) == ("psst", owner.id, 1)
        # the owner silences b for five minutes: a notice to everyone, b's send refused
        names = {row["user_id"]: row["users"]["name"]
                 for row in owner.call("GET", f"/groups/users/{group['id']}")["group_users"]}
        silenced = owner.call("POST", f"/groups/{group['id']}/mute", user_id=b.id, seconds=300)
        assert silenced["user_id"] == b.id and silenced["silenced_until"] >= int(time.time()) + 290
        for client in (o_socket, b_socket, c_socket):
            (notice,) = chats(frames(client, 1))
            assert (notice["msg_type"], notice["notice"], notice["form_id"]) == (6, "mute", owner.id)
            assert notice["message"] == f"{names[b.id]} 被 {names[owner.id]} 禁言 5 分钟"
        refusal = refused(b, "/messages/group", msg_client_id=3, to_id=group["id"], msg_type=1, message="hey")
        assert refusal["code"] == 1003 and refusal["message"].startswith("you are silenced in this group for ")
        assert refusal["data"] == {}
        # the whole group: only the owner speaks; c is refused too
        assert owner.call("POST", f"/groups/{group['id']}/mute", all=1) == {"group_id": group["id"], "all": 1}
        for client in (o_socket, b_socket, c_socket):
            (notice,) = chats(frames(client, 1))
            assert (notice["notice"], notice["message"]) == ("mute", f"{names[owner.id]} 开启了全员禁言")
        assert refused(c, "/messages/group", msg_client_id=4, to_id=group["id"], msg_type=1, message="hi") == {
            "code": 1003, "message": "the whole group is silenced: only the owner and admins may speak", "data": {}}
        owner.call("POST", "/messages/group", msg_client_id=5, to_id=group["id"], msg_type=1, message="owner only")
        assert [f["message"] for f in chats(frames(b_socket, 1))] == ["owner only"]
        frames(o_socket, 1), frames(c_socket, 1)
        owner.call("POST", f"/groups/{group['id']}/mute", all=0)
        owner.call("POST", f"/groups/{group['id']}/mute", user_id=b.id, seconds=0)
        for client in (o_socket, b_socket, c_socket):
            assert [f["notice"] for f in chats(frames(client, 2))] == ["mute", "mute"]
        b.call("POST", "/messages/group", msg_client_id=6, to_id=group["id"], msg_type=1, message="free")
        assert [f["message"] for f in chats(frames(o_socket, 1))] == ["free"]
    listed = owner.call("GET", "/messages/groups", to_id=group["id"])["list"]
    assert [item["Notice"] for item in listed if item["MsgType"] == 6][-4:] == ["mute"] * 4


def test_typing_is_relayed_live_to_the_friend_and_the_members(stack: RunningStack) -> None:
    owner, b, c, stranger = User(stack), User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="typing", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    names = {row["user_id"]: row["users"]["name"]
             for row in owner.call("GET", f"/groups/users/{group['id']}")["group_users"]}
    with owner.socket() as o_socket, owner.socket() as o_other, b.socket() as b_socket, c.socket() as c_socket, \
            stranger.socket() as s_socket:
        for client in (o_socket, o_other, b_socket, c_socket, s_socket):
            frames(client, 20, 1)
        o_socket.send(json.dumps({"msg_code": 1010, "to_id": b.id, "channel_type": 1}))
        assert frames(b_socket, 1) == [{"msg_code": 1010, "form_id": owner.id, "to_id": b.id, "channel_type": 1,
                                        "users": {"id": owner.id, "name": names[owner.id]}}]
        o_socket.send(json.dumps({"msg_code": 1010, "to_id": b.id, "channel_type": 1}))  # within 3 s: paced
        b_socket.send(json.dumps({"msg_code": 1010, "to_id": group["id"], "channel_type": 2}))
        expected = {"msg_code": 1010, "form_id": b.id, "to_id": group["id"], "channel_type": 2,
                    "users": {"id": b.id, "name": names[b.id]}}
        assert frames(c_socket, 1) == [expected]
        assert frames(o_socket, 1) == frames(o_other, 1) == [expected]
        assert frames(b_socket, 1, 1) == []  # the paced one never came, and b's own never comes back
        s_socket.send(json.dumps({"msg_code": 1010, "to_id": b.id, "channel_type": 1}))
        s_socket.send(json.dumps({"msg_code": 1010, "to_id": "b", "channel_type": 1}))
        refusal = "typing frame: you can only type to a friend or in a group you are a member of"
        assert frames(s_socket, 2) == [{"msg_code": 500, "message": refusal},
                                       {"msg_code": 500, "message": "typing frame: to_id must be a positive integer"}]
        assert frames(b_socket, 1, 0.5) == [] and frames(o_socket, 1, 0.5) == []
    assert [item["Message"] for item in owner.call("GET", "/messages/groups", to_id=group["id"])["list"]
            if item["MsgType"] != 6] == []  # nothing stored


def test_read_receipts_private_and_group(stack: RunningStack) -> None:
    owner, b, c = User(stack), User(stack), User(stack)
    befriend(owner, b)
    befriend(owner, c)
    group = owner.call("POST", "/groups/store", name="reads", info="about stamps", avatar="https://x/a.png",
                       theme="t", select_user=[b.id, c.id])
    with owner.socket() as o_socket, b.socket() as b_socket:
        frames(o_socket, 20, 1), frames(b_socket, 20, 1)
        first = owner.call("POST", "/messages/private", msg_client_id=1, to_id=b.id, msg_type=1, message="one")
        second = owner.call("POST", "/messages/private", msg_client_id=2, to_id=b.id, msg_type=1, message="two")
        assert [f["id"] for f in chats(frames(b_socket, 2))] == [first["id"], second["id"]]
        assert [item["is_read"] for item in b.call("GET", "/messages", to_id=owner.id)["list"]] == [1, 1]
        assert frames(o_socket, 1) == [{"msg_code": 1011, "to_id": owner.id, "form_id": b.id, "channel_type": 1,
                                        "read_seq": second["id"]}]
        assert [item["is_read"] for item in owner.call("GET", "/messages", to_id=b.id)["list"]] == [1, 1]
        assert frames(b_socket, 1, 1) == []  # the owner's own read passed only its own messages: no receipt for b
        assert b.call("PUT", "/user", read_receipts=0) == {"read_receipts": 0}
        third = owner.call("POST", "/messages/private", msg_client_id=3, to_id=b.id, msg_type=1, message="three")
        frames(b_socket, 1)
        time.sleep(1.1)  # past b's one-second pace: what follows is silent because receipts are off, not paced
        b.call("GET", "/messages", to_id=owner.id)
        assert frames(o_socket, 1, 1) == []  # off: nothing pushed
        assert owner.call("GET", "/messages", to_id=b.id)["list"][-1]["id"] == third["id"]
        assert owner.call("GET", "/messages", to_id=b.id)["list"][-1]["is_read"] == 1  # off: the origin's value
        sent = owner.call("POST", "/messages/group", msg_client_id=4, to_id=group["id"], msg_type=1, message="all")
        b.call("GET", "/messages/groups", to_id=group["id"])
        c.call("PUT", "/user", read_receipts=1)
        c.call("GET", "/messages/groups", to_id=group["id"])
        reads = owner.call("GET", f"/groups/{group['id']}/reads", id=sent["id"])
        # b turned receipts off: left out; c read it
        assert reads == {"id": sent["id"], "read": 1, "unread": 0, "read_ids": [c.id], "unread_ids": []}
        assert [f["msg_code"] for f in frames(o_socket, 5, 1)] == [200]  # the group message; no group receipts

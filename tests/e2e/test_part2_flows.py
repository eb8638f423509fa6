"""Beyond the origin, part 2, over the local stack with real HTTP and WebSockets: block, edit, pins, reactions;
every frame and history field asserted."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_flows import User, frames, without_bot

pytestmark = pytest.mark.e2e


def answer(user: User, method: str, path: str, **fields: Any) -> dict[str, Any]:
    """The whole envelope, for the refusals `User.call` would fail on."""
    parts = [(key, (None, str(value))) for key, value in fields.items()]
    return requests.request(method, f"{user.stack.http_url}{path}", timeout=10,
                            headers={"Authorization": f"Bearer {user.token}"},
                            files=parts if method == "POST" and parts else None).json()


def befriend(a: User, b: User) -> None:
    record = a.call("POST", "/friends/record", to_id=b.id, information="hi")
    b.call("PUT", "/friends/record", id=record["id"], status=1)


def name_of(user: User) -> str:
    return str(user.call("GET", f"/user/{user.id}")["name"])


def client_id() -> int:
    return uuid.uuid4().int % 10**15


def test_block_refuses_their_messages_and_requests_hides_me_and_lifts(stack: RunningStack) -> None:
    a, b, c = User(stack), User(stack), User(stack)
    befriend(a, b)
    group = a.call("POST", "/groups/store", name="e2e block", info="about stamps", avatar="https://x/a.png", theme="t",
                   select_user=[b.id])
    with a.socket() as a_socket, b.socket() as b_socket:
        frames(a_socket, 10, 1), frames(b_socket, 10, 1)
        blocked = a.call("POST", "/friends/block", user_id=b.id)
        assert blocked["id"] == b.id and blocked["blocked"] == 1
        refused = answer(b, "POST", "/messages/private", msg_client_id=client_id(), to_id=a.id, msg_type=1,
                         message="let me in")
        assert refused["code"] == 1003 and "has blocked you" in refused["message"]
        assert [row["id"] for row in a.call("GET", "/friends/blocked")] == [b.id]
        assert b.call("GET", "/friends/userQuery", email=a.email) == []
        assert [row["id"] for row in c.call("GET", "/friends/userQuery", email=a.email)] == [a.id]
        # in a shared group their messages still arrive; the blocker's private messages still reach them
        b.call("POST", "/messages/group", msg_client_id=client_id(), to_id=group["id"], msg_type=1, message="grp")
        (group_frame,) = [f for f in frames(a_socket, 1) if f["msg_code"] == 200]
        assert (group_frame["form_id"], group_frame["message"], group_frame["channel_type"]) == (b.id, "grp", 2)
        a.call("POST", "/messages/private", msg_client_id=client_id(), to_id=b.id, msg_type=1, message="ok")
        received = [f for f in without_bot(frames(b_socket, 2)) if f["channel_type"] == 1]
        assert [(f["msg_code"], f["message"]) for f in received] == [(200, "ok")]  # nothing announced the block
        assert a.call("DELETE", f"/friends/block/{b.id}") == {"id": b.id, "blocked": 0}
        sent = b.call("POST", "/messages/private", msg_client_id=client_id(), to_id=a.id, msg_type=1, message="hi")
        (chat,) = [f for f in frames(a_socket, 1) if f["msg_code"] == 200]
        assert (chat["id"], chat["form_id"], chat["to_id"], chat["message"]) == (sent["id"], b.id, a.id, "hi")
    history = a.call("GET", "/messages", to_id=b.id)["list"]
    assert [(item["form_id"], item["msg"]) for item in history] == [(a.id, "ok"), (b.id, "hi")]
    # a block refuses friend requests too
    d = User(stack)
    d.call("POST", "/friends/block", user_id=c.id)
    refused = answer(c, "POST", "/friends/record", to_id=d.id, information="hello")
    assert refused["code"] == 1003 and "has blocked you" in refused["message"]


def test_edit_reaches_both_sides_and_three_members_with_history_and_versions(stack: RunningStack) -> None:
    a, b, c = User(stack), User(stack), User(stack)
    befriend(a, b)
    befriend(a, c)
    group = a.call("POST", "/groups/store", name="e2e edit", info="about stamps", avatar="https://x/a.png",
                   theme="t", select_user=[b.id, c.id])
    with a.socket() as a_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (a_socket, b_socket, c_socket):
            frames(client, 10, 1)
        sent = a.call("POST", "/messages/private", msg_client_id=client_id(), to_id=b.id, msg_type=1,
                      message="helo")
        (chat,) = [f for f in frames(b_socket, 1) if f["msg_code"] == 200]
        assert chat["id"] == sent["id"]
        edited = a.call("POST", "/messages/edit", to_id=b.id, id=sent["id"], content="hello")
        assert (edited["content"], edited["edited"], edited["edit_count"]) == ("hello", 1, 1)
        expected = {"msg_code": 1008, "id": sent["id"], "msg_id": sent["msg_id"], "form_id": a.id, "to_id": b.id,
                    "channel_type": 1, "content": "hello", "edited_at": edited["edited_at"]}
        assert [f for f in frames(b_socket, 1) if f["msg_code"] == 1008] == [expected]
        assert [f for f in frames(a_socket, 1) if f["msg_code"] == 1008] == [expected]
        refused = answer(b, "POST", "/messages/edit", to_id=a.id, id=sent["id"], content="mine")
        assert refused["code"] == 1003
        # a group edit reaches all three members
        in_group = b.call("POST", "/messages/group", msg_client_id=client_id(), to_id=group["id"], msg_type=1,
                          message="grop")
        for client in (a_socket, b_socket, c_socket):
            assert [f["message"] for f in frames(client, 1) if f["msg_code"] == 200] == ["grop"]
        group_edit = b.call("POST", "/messages/edit", to_id=group["id"], channel_type=2, id=in_group["id"],
                            content="group")
        for client in (a_socket, b_socket, c_socket):
            assert [f for f in frames(client, 1) if f["msg_code"] == 1008] == [{
                "msg_code": 1008, "id": in_group["id"], "msg_id": in_group["msg_id"], "form_id": b.id,
                "to_id": group["id"], "channel_type": 2, "content": "group", "edited_at": group_edit["edited_at"]}]
    (item,) = [m for m in b.call("GET", "/messages", to_id=a.id)["list"] if m["id"] == sent["id"]]
    assert (item["msg"], item["edited"], item["edited_at"], item["msg_type"]) == ("hello", 1, edited["edited_at"], 1)
    versions = b.call("GET", "/messages/edits", to_id=a.id, channel_type=1, id=sent["id"])
    assert [(v["version"], v["content"]) for v in versions["versions"]] == [(0, "helo")]
    group_item = c.call("GET", "/messages/groups", to_id=group["id"])["list"][-1]
    assert (group_item["Message"], group_item["edited"], group_item["edited_at"]) == (
        "group", 1, group_edit["edited_at"])
    session = next(s for s in b.call("GET", "/sessions") if s["to_id"] == a.id and s["channel_type"] == 1)
    assert session["last_message"]["content"] == "hello"


def test_pins_post_a_notice_both_sides_see_and_list_newest_first(stack: RunningStack) -> None:
    a, b, c = User(stack), User(stack), User(stack)
    befriend(a, b)
    befriend(a, c)
    group = a.call("POST", "/groups/store", name="e2e pins", info="about stamps", avatar="https://x/a.png",
                   theme="t", select_user=[b.id, c.id])
    with a.socket() as a_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (a_socket, b_socket, c_socket):
            frames(client, 10, 1)
        sent = a.call("POST", "/messages/private", msg_client_id=client_id(), to_id=b.id, msg_type=1,
                      message="the address")
        frames(b_socket, 1)
        assert b.call("POST", "/messages/pin", to_id=a.id, id=sent["id"]) == {
            "id": sent["id"], "to_id": a.id, "channel_type": 1, "pinned": 1}
        (notice,) = [f for f in frames(a_socket, 1) if f["msg_code"] == 200]
        assert {key: notice[key] for key in ("msg_type", "notice", "message", "form_id", "to_id", "channel_type",
                                             "id")} == {
            "msg_type": 6, "notice": "pin", "message": f"{name_of(b)} 置顶了一条消息", "form_id": b.id, "to_id": a.id,
            "channel_type": 1, "id": sent["id"] + 1}
        # in the group: members may not pin, the owner may, and all three members get the notice
        in_group = c.call("POST", "/messages/group", msg_client_id=client_id(), to_id=group["id"], msg_type=1,
                          message="meeting at 6")
        for client in (a_socket, b_socket, c_socket):
            frames(client, 1)
        assert answer(b, "POST", "/messages/pin", to_id=group["id"], channel_type=2, id=in_group["id"])["code"] == 1003
        a.call("POST", "/messages/pin", to_id=group["id"], channel_type=2, id=in_group["id"])
        for client in (a_socket, b_socket, c_socket):
            (group_notice,) = [f for f in frames(client, 1) if f["msg_code"] == 200]
            assert (group_notice["msg_type"], group_notice["notice"], group_notice["form_id"],
                    group_notice["message"]) == (6, "pin", a.id, f"{name_of(a)} 置顶了一条消息")
    for viewer, peer in ((a, b), (b, a)):
        (pinned,) = viewer.call("GET", "/messages/pins", to_id=peer.id, channel_type=1)
        assert (pinned["id"], pinned["pinned_by"], pinned["message"]["msg"], pinned["message"]["form_id"]) == (
            sent["id"], b.id, "the address", a.id)
    (group_pin,) = c.call("GET", "/messages/pins", to_id=group["id"], channel_type=2)
    assert (group_pin["id"], group_pin["pinned_by"], group_pin["message"]["msg"]) == (in_group["id"], a.id,
                                                                                       "meeting at 6")
    history = b.call("GET", "/messages/groups", to_id=group["id"])["list"]
    assert [(m["MsgType"], m["Notice"]) for m in history[-2:]] == [(1, ""), (6, "pin")]
    a.call("POST", "/messages/pin", to_id=b.id, id=sent["id"], on=0)
    assert b.call("GET", "/messages/pins", to_id=a.id, channel_type=1) == []


def test_reactions_reach_both_sides_and_three_members_and_history_counts_them(stack: RunningStack) -> None:
    a, b, c = User(stack), User(stack), User(stack)
    befriend(a, b)
    befriend(a, c)
    group = a.call("POST", "/groups/store", name="e2e react", info="about stamps", avatar="https://x/a.png",
                   theme="t", select_user=[b.id, c.id])
    with a.socket() as a_socket, b.socket() as b_socket, c.socket() as c_socket:
        for client in (a_socket, b_socket, c_socket):
            frames(client, 10, 1)
        sent = a.call("POST", "/messages/private", msg_client_id=client_id(), to_id=b.id, msg_type=1, message="hi")
        frames(b_socket, 1)
        assert b.call("POST", "/messages/react", to_id=a.id, id=sent["id"], emoji="👍🏽") == {
            "id": sent["id"], "to_id": a.id, "channel_type": 1, "emoji": "👍🏽", "count": 1, "on": 1}
        expected = {"msg_code": 1009, "id": sent["id"], "to_id": b.id, "channel_type": 1, "emoji": "👍🏽",
                    "count": 1, "form_id": b.id, "on": 1, "reactions": [{"emoji": "👍🏽", "count": 1}]}
        for client in (a_socket, b_socket):
            assert [f for f in frames(client, 1) if f["msg_code"] == 1009] == [expected]
        bad = answer(b, "POST", "/messages/react", to_id=a.id, id=sent["id"], emoji="👍👍")
        assert bad["code"] == 1000 and "emoji" in bad["message"]
        in_group = a.call("POST", "/messages/group", msg_client_id=client_id(), to_id=group["id"], msg_type=1,
                          message="vote")
        for client in (a_socket, b_socket, c_socket):
            frames(client, 1)
        c.call("POST", "/messages/react", to_id=group["id"], channel_type=2, id=in_group["id"], emoji="👨‍👩‍👧‍👦")
        for client in (a_socket, b_socket, c_socket):
            assert [f for f in frames(client, 1) if f["msg_code"] == 1009] == [{
                "msg_code": 1009, "id": in_group["id"], "to_id": group["id"], "channel_type": 2,
                "emoji": "👨‍👩‍👧‍👦", "count": 1, "form_id": c.id, "on": 1,
                "reactions": [{"emoji": "👨‍👩‍👧‍👦", "count": 1}]}]
    (item,) = [m for m in a.call("GET", "/messages", to_id=b.id)["list"] if m["id"] == sent["id"]]
    assert item["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": 0}]
    group_item = c.call("GET", "/messages/groups", to_id=group["id"])["list"][-1]
    assert group_item["reactions"] == [{"emoji": "👨‍👩‍👧‍👦", "count": 1, "me": 1}]

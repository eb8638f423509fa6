"""Beyond the origin, part 2, over the local stack with real HTTP and WebSockets: block (edit, pins and reactions
follow as they are built)."""
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

"""Reactions: counts exact under 20 users at once, one per user per emoji, at most 20 emoji, every change pushed
with its counts, the emoji validator, history fields, bad inputs."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock
from chalicelib.db import keys
from chalicelib.http.emoji import is_single_emoji
from tests.api.test_blocks import block
from tests.api.test_conflicts import table_items
from tests.api.test_edits import not_limits, send
from tests.api.test_groups import group_send, make_group
from tests.support.factories import befriend, get, online, post_form, register


def react(client, me, to_id, seq, emoji="👍", on=1, channel_type=1):
    return post_form(client, "/messages/react", {"to_id": to_id, "channel_type": channel_type, "id": seq,
                                                 "emoji": emoji, "on": on}, me["token"]).json_body


@pytest.fixture
def pair(client):
    a, b = register(client), register(client)
    befriend(client, a, b)
    return a, b


def test_a_reaction_reaches_both_sides_and_history_shows_counts_and_mine(client, sender, pair):
    a, b = pair
    online(a["id"], "a-socket")
    online(b["id"], "b-socket")
    sent = send(client, a, b["id"], "hi")
    assert react(client, b, a["id"], sent["id"], "👍🏽") == {"code": 200, "message": "Success", "data": {
        "id": sent["id"], "to_id": a["id"], "channel_type": 1, "emoji": "👍🏽", "count": 1, "on": 1}}
    assert react(client, a, b["id"], sent["id"], "👍🏽")["data"]["count"] == 2
    assert react(client, a, b["id"], sent["id"], "🇨🇳")["data"]["count"] == 1
    for socket in ("a-socket", "b-socket"):
        assert sender.frames_for(socket)[-1] == {
            "msg_code": 1009, "id": sent["id"], "to_id": b["id"], "channel_type": 1, "emoji": "🇨🇳", "count": 1,
            "form_id": a["id"], "on": 1, "reactions": [{"emoji": "👍🏽", "count": 2}, {"emoji": "🇨🇳", "count": 1}]}
    (item,) = get(client, "/messages", b["token"], to_id=a["id"]).json_body["data"]["list"]
    assert item["reactions"] == [{"emoji": "👍🏽", "count": 2, "me": 1}, {"emoji": "🇨🇳", "count": 1, "me": 0}]
    # one per user per emoji; taking it back
    assert react(client, b, a["id"], sent["id"], "👍🏽")["data"]["count"] == 2
    assert react(client, b, a["id"], sent["id"], "👍🏽", on=0)["data"]["count"] == 1
    assert react(client, b, a["id"], sent["id"], "👍🏽", on=0)["data"]["count"] == 1  # not mine any more: no-op
    assert sender.frames_for("a-socket")[-1]["on"] == 0
    assert react(client, a, b["id"], sent["id"], "👍🏽", on=0)["data"]["count"] == 0
    (item,) = get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"]
    assert item["reactions"] == [{"emoji": "🇨🇳", "count": 1, "me": 1}]


def test_group_members_react_and_see_reactions(client, sender, pair):
    a, b = pair
    c = register(client)
    befriend(client, a, c)
    group = make_group(client, a, [b, c])
    online(c["id"], "c-socket")
    sent = group_send(client, b, group["id"], "vote")["data"]
    assert react(client, a, group["id"], sent["id"], "❤️", channel_type=2)["data"]["count"] == 1
    frame = sender.frames_for("c-socket")[-1]
    assert (frame["msg_code"], frame["to_id"], frame["channel_type"], frame["emoji"], frame["form_id"]) == (
        1009, group["id"], 2, "❤️", a["id"])
    item = get(client, "/messages/groups", c["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert item["reactions"] == [{"emoji": "❤️", "count": 1, "me": 0}]
    outsider = register(client)
    assert react(client, outsider, group["id"], sent["id"], channel_type=2)["code"] == 1003


def test_twenty_users_at_once_count_exactly(client, sender):
    owner = register(client)
    people = [register(client) for _ in range(20)]
    for person in people:
        befriend(client, owner, person)
    group = make_group(client, owner, people)
    sent = group_send(client, owner, group["id"], "react!")["data"]
    barrier = threading.Barrier(20)

    def racing(person):
        barrier.wait()
        return react(client, person, group["id"], sent["id"], "🎉", channel_type=2)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(racing, people))
    assert all(answer["code"] == 200 for answer in answers)
    assert sorted(answer["data"]["count"] for answer in answers)[-1] == 20
    item = get(client, "/messages/groups", owner["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert item["reactions"] == [{"emoji": "🎉", "count": 20, "me": 0}]
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda person: react(client, person, group["id"], sent["id"], "🎉", on=0, channel_type=2),
                      people[:7]))
    item = get(client, "/messages/groups", owner["token"], to_id=group["id"]).json_body["data"]["list"][-1]
    assert item["reactions"] == [{"emoji": "🎉", "count": 13, "me": 0}]


def test_at_most_twenty_different_emoji(client, pair):
    a, b = pair
    sent = send(client, a, b["id"], "hi")
    emoji = [chr(0x1F600 + n) for n in range(21)]
    for each in emoji[:20]:
        assert react(client, a, b["id"], sent["id"], each)["code"] == 200
    before = not_limits(table_items())
    assert react(client, b, a["id"], sent["id"], emoji[20]) == {
        "code": 1000, "message": "a message can have at most 20 different emoji", "data": {}}
    assert not_limits(table_items()) == before
    assert react(client, b, a["id"], sent["id"], emoji[0])["data"]["count"] == 2  # an emoji already there
    assert react(client, a, b["id"], sent["id"], emoji[19], on=0)["data"]["count"] == 0
    assert react(client, b, a["id"], sent["id"], emoji[20])["data"]["count"] == 1  # its place was freed


def reaction_frames(sender, socket, since=0):
    return [frame for frame in sender.frames_for(socket)[since:] if frame["msg_code"] == 1009]


def test_reactions_within_one_second_each_reach_the_peer_and_the_last_carries_the_final_counts(
        client, sender, pair, monkeypatch):
    a, b = pair
    online(b["id"], "b-socket")
    sent = send(client, a, b["id"], "hi")
    moment = clock.now()
    monkeypatch.setattr(clock, "now", lambda: moment)  # every reaction below in the same instant
    frames_before = len(sender.frames_for("b-socket"))
    assert react(client, a, b["id"], sent["id"], "👍")["data"]["count"] == 1
    assert react(client, b, a["id"], sent["id"], "👍")["data"]["count"] == 2
    assert [(frame["form_id"], frame["count"], frame["reactions"])
            for frame in reaction_frames(sender, "b-socket", frames_before)] == [
        (a["id"], 1, [{"emoji": "👍", "count": 1}]), (b["id"], 2, [{"emoji": "👍", "count": 2}])]


def test_taking_back_the_last_of_an_emoji_is_one_frame(client, sender, pair):
    """The write that then forgets the emoji changes no count and makes no frame of its own."""
    a, b = pair
    online(b["id"], "b-socket")
    sent = send(client, a, b["id"], "hi")
    react(client, a, b["id"], sent["id"], "👍")
    react(client, a, b["id"], sent["id"], "🎉")
    frames_before = len(sender.frames_for("b-socket"))
    assert react(client, a, b["id"], sent["id"], "👍", on=0)["data"]["count"] == 0
    assert reaction_frames(sender, "b-socket", frames_before) == [{
        "msg_code": 1009, "id": sent["id"], "to_id": b["id"], "channel_type": 1, "emoji": "👍", "count": 0,
        "form_id": a["id"], "on": 0, "reactions": [{"emoji": "🎉", "count": 1}]}]
    (stored,) = [item for (_, sort_key), item in table_items().items() if sort_key == keys.reactions_sk(sent["id"])]
    assert stored["e"] == {"SS": ["🎉"]} and "by" not in stored


def test_a_peer_who_blocked_me_gets_no_reactions_and_recalled_messages_take_none(client, pair):
    a, b = pair
    sent = send(client, b, a["id"], "hi")
    assert block(client, b, a["id"])["code"] == 200
    assert react(client, a, b["id"], sent["id"])["code"] == 1003
    assert post_form(client, "/messages/recall", {"to_id": a["id"], "id": sent["id"]}, b["token"]
                     ).json_body["code"] == 200
    assert react(client, b, a["id"], sent["id"])["message"] == "a recalled message cannot be reacted to"


@pytest.mark.parametrize("emoji", ["", "a", "ab", "👍👍", "🇨🇳🇺🇸", "1", "👍\u200d", "x🏽", "中", " 👍", "\u0000"])
def test_anything_but_one_emoji_is_1000(client, pair, emoji):
    a, b = pair
    sent = send(client, a, b["id"], "hi")
    before = not_limits(table_items())
    answer = react(client, a, b["id"], sent["id"], emoji)
    assert answer["code"] == 1000 and "emoji" in answer["message"], answer
    assert not_limits(table_items()) == before


@pytest.mark.parametrize("fields, message", [
    ({"id": 1, "emoji": "👍"}, "to_id"), ({"to_id": 5, "emoji": "👍"}, "id"), ({"to_id": 5, "id": 1}, "emoji"),
    ({"to_id": 5, "id": 1, "emoji": "👍", "on": 3}, "on"), ({"to_id": 5, "id": 99, "emoji": "👍"}, "message not found"),
])
def test_bad_reactions_are_1000_and_change_nothing(client, pair, fields, message):
    a, b = pair
    send(client, a, b["id"], "hi")
    fields = {**fields, "to_id": b["id"]} if fields.get("to_id") == 5 else fields
    before = not_limits(table_items())
    answer = post_form(client, "/messages/react", fields, a["token"]).json_body
    assert answer["code"] == 1000 and message in answer["message"], answer
    assert not_limits(table_items()) == before


def test_a_reaction_meeting_conflicts_counts_once(client, pair, dynamodb_conflicts):
    a, b = pair
    sent = send(client, a, b["id"], "hi")
    dynamodb_conflicts.every_write = True
    dynamodb_conflicts.pending = 2
    assert react(client, a, b["id"], sent["id"])["data"]["count"] == 1
    assert dynamodb_conflicts.pending == 0
    (item,) = get(client, "/messages", a["token"], to_id=b["id"]).json_body["data"]["list"]
    assert item["reactions"] == [{"emoji": "👍", "count": 1, "me": 1}]


@pytest.mark.parametrize("emoji", ["👍", "👍🏽", "❤️", "❤", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "1️⃣", "#⃣", "*️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
                                   "👩🏽‍💻", "🧑🏿‍🤝‍🧑🏻", "©️", "🫠", "🤷‍♀️", "👁️‍🗨️", "🐻‍❄️", "❤️‍🔥"])
def test_emoji_grapheme_clusters_are_single_emoji(emoji):
    assert is_single_emoji(emoji)


@pytest.mark.parametrize("text", ["🏻", "👍🏽🏽", "❤️️", "1⃣⃣", "🏴󠁧󠁢", "\ufe0f", "\u20e3", "\u200d👍", "😀\u200d\u200d😀",
                                  "🇨", "#", "👍 ", "\U0001F3F4\U000E0067"])
def test_fragments_and_runs_are_not(text):
    assert not is_single_emoji(text)

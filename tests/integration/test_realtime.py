"""WebSocket handlers and push fan-out, driven with API Gateway-shaped events (moto in-process)."""
from __future__ import annotations

import time

from chalicelib.db import buckets, connections, keys, pending
from chalicelib.realtime import push
from chalicelib.security.tokens import issue_token
from chalicelib.ws import handlers
from tests.support.factories import ws_event


def connect(connection_id, user_id=7, connected_at_ms=None):
    token = issue_token(user_id, "uid", "name").token
    return handlers.connect(ws_event("$connect", connection_id, query={"token": token},
                                     connected_at_ms=connected_at_ms or int(time.time() * 1000)))


def owner(connection_id):
    """Who the connection's item names, as its next frame's quota write answers it (None: no item)."""
    return connections.take_frame(connection_id, buckets.Bucket(30, 10_000), time.time())


def old_ms():
    return int(time.time() * 1000) - 60_000


def test_connect_with_missing_or_bad_token_is_refused(aws):
    assert handlers.connect(ws_event("$connect", "c1", query={})) == {"statusCode": 401}
    assert handlers.connect(ws_event("$connect", "c1", query={"token": "junk"})) == {"statusCode": 401}
    assert handlers.connect(ws_event("$connect", "c1")) == {"statusCode": 401}
    assert connections.live_connections([7], time.time()) == {7: []}


def test_connect_registers_both_directions_and_disconnect_removes_them(aws):
    assert connect("c1") == {"statusCode": 200}
    assert connect("c2") == {"statusCode": 200}
    live = connections.live_connections([7], time.time())[7]
    assert sorted(c.connection_id for c in live) == ["c1", "c2"]
    assert owner("c1") == 7
    assert handlers.disconnect(ws_event("$disconnect", "c1")) == {"statusCode": 200}
    assert [c.connection_id for c in connections.live_connections([7], time.time())[7]] == ["c2"]
    assert owner("c1") is None
    assert handlers.disconnect(ws_event("$disconnect", "c1")) == {"statusCode": 200}


def test_heartbeat_is_answered_with_nothing(sender):
    connect("c1", connected_at_ms=old_ms())
    assert handlers.message(ws_event("$default", "c1", body='{"msg_code":1004,"message":"ping"}',
                                     connected_at_ms=old_ms())) == {"statusCode": 200}
    assert sender.sent == []


def test_malformed_frames_get_an_error_frame(sender):
    connect("c1", connected_at_ms=old_ms())
    for body in ["not json", "[]", '{"msg_code":"1004"}', '{"message":"x"}', '{"msg_code":true}', "", "x" * 40000]:
        handlers.message(ws_event("$default", "c1", body=body, connected_at_ms=old_ms()))
    frames = sender.frames_for("c1")
    assert len(frames) == 7 and all(frame["msg_code"] == 500 for frame in frames)


def test_unsupported_msg_code_gets_an_error_frame(sender):
    connect("c1", connected_at_ms=old_ms())
    handlers.message(ws_event("$default", "c1", body='{"msg_code":200,"message":"hi"}', connected_at_ms=old_ms()))
    assert sender.frames_for("c1")[0]["msg_code"] == 500


def deliver_now(deliveries, key="000000000000001#1", now=None):
    """One record's frames delivered as a batch of one does it: the sets read consistently, then the rule."""
    users = {user_id for user_id, _ in deliveries}
    reach, _ = connections.reach(users, now or time.time(), consistent=True)
    replays = push.Replays(push.Deadline())
    owed = push.deliver([(user_id, push.encode(frame)) for user_id, frame in deliveries], key,
                        push.Recipients(reach), replays)
    replays.wait()
    return owed


def messages_at(sender, connection_id):
    return [frame["message"] for frame in sender.frames_for(connection_id)]


def first_ping(connection_id):
    handlers.message(ws_event("$default", connection_id, body='{"msg_code":1004}',
                              connected_at_ms=int(time.time() * 1000)))


def keep(user_id, *messages):
    for number, message in enumerate(messages):
        deliver_now([(user_id, {"msg_code": 200, "message": message})], key=f"000000000000001#{number}")


def test_push_reaches_every_connection_of_every_recipient(sender):
    connect("a1", 7)
    connect("a2", 7)
    connect("b1", 8)
    owed = deliver_now([(7, {"msg_code": 200, "message": "hi"}), (8, {"msg_code": 200, "message": "yo"})])
    assert owed == {} and pending.list_for(7, time.time()) == []
    assert sender.frames_for("a1") == sender.frames_for("a2") == [{"msg_code": 200, "message": "hi"}]
    assert sender.frames_for("b1") == [{"msg_code": 200, "message": "yo"}]


def test_gone_connections_are_forgotten_and_others_still_receive(sender):
    connect("a1", 7)
    connect("a2", 7)
    sender.gone.add("a1")
    assert deliver_now([(7, {"msg_code": 200, "message": "m"})]) == {}
    assert messages_at(sender, "a2") == ["m"]
    assert [c.connection_id for c in connections.live_connections([7], time.time())[7]] == ["a2"]
    assert owner("a1") is None


def test_frames_for_offline_users_are_kept_and_replayed_in_order_exactly_once(sender):
    keep(9, "m0", "m1", "m2")
    assert sender.sent == []
    assert len(pending.list_for(9, time.time())) == 3
    connect("late", 9)
    first_ping("late")
    first_ping("late")
    assert messages_at(sender, "late") == ["m0", "m1", "m2"]
    assert pending.list_for(9, time.time()) == []


def test_keeping_the_same_delivery_twice_keeps_it_once(sender):
    """A delivery retried after the function died keeps its frames under the same keys."""
    for _ in range(2):
        deliver_now([(9, {"msg_code": 200, "message": "once"})], key="000000000000001#7")
    assert len(pending.list_for(9, time.time())) == 1


def test_frame_kept_when_every_connection_is_gone(sender):
    connect("a1", 7)
    sender.gone.add("a1")
    assert deliver_now([(7, {"msg_code": 200, "message": "keep me"})]) == {}
    assert [event.frame for event in pending.list_for(7, time.time())] == ['{"msg_code":200,"message":"keep me"}']


def test_failed_replay_leaves_the_frame_kept_in_place(sender):
    keep(9, "m0")
    connect("late", 9)
    sender.gone.add("late")
    first_ping("late")
    assert len(pending.list_for(9, time.time())) == 1


def test_frames_keep_any_text_intact(sender):
    connect("a1", 7)
    text = 'quote " backslash \\ newline \n emoji 😀 <b>&'
    deliver_now([(7, {"msg_code": 200, "message": text})])
    assert sender.frames_for("a1")[0]["message"] == text


def test_a_delivery_to_a_new_connection_replays_its_kept_frames_first(sender):
    """The socket's first heartbeat may come after newer frames are delivered: they must not overtake."""
    keep(9, "m0", "m1")
    connect("late", 9)
    deliver_now([(9, {"msg_code": 200, "message": "m2"})], key="000000000000002#0")
    assert messages_at(sender, "late") == ["m0", "m1", "m2"]
    first_ping("late")
    assert len(sender.frames_for("late")) == 3 and pending.list_for(9, time.time()) == []


def test_a_socket_open_longer_than_any_window_still_gets_kept_frames_before_newer_ones(sender, monkeypatch):
    """The delivery runs a minute behind: the socket opened long before the delivery sees it, and never sent a
    frame. Its user's kept frames still go first (issue 21: a 15 s window once let the newer frame overtake)."""
    keep(9, "m0")
    connect("settled", 9)
    later = time.time() + 60
    monkeypatch.setattr("chalicelib.clock.now", lambda: later)
    deliver_now([(9, {"msg_code": 200, "message": "m1"})], key="000000000000002#0", now=later)
    assert messages_at(sender, "settled") == ["m0", "m1"]
    assert pending.list_for(9, later) == []


def test_a_delivery_leaves_a_held_replay_to_its_holder_without_waiting(sender):
    """Another replayer holds the user's replay: the delivery keeps its frame behind the kept ones and moves on at
    once; the holder's clear then fails (a keeper came), so it lists again and posts the new frame last."""
    keep(9, "m0", "m1")
    connect("late", 9)
    held = pending.hold(9, "other", time.time())
    assert held is not None and held.kept
    started = time.monotonic()
    deliver_now([(9, {"msg_code": 200, "message": "m2"})], key="000000000000002#0")
    assert time.monotonic() - started < 1 and sender.sent == []
    assert len(pending.list_for(9, time.time())) == 3
    assert pending.finish(9, "other", held.kept, int(time.time()) + 60) is False
    pending.release(9, "other")
    assert push.replay(9) == 3
    assert messages_at(sender, "late") == ["m0", "m1", "m2"]


def test_only_its_holder_releases_or_clears_a_hold(aws):
    keep(9, "m0")
    now = time.time()
    mine = pending.hold(9, "mine", now)
    assert mine is not None
    assert pending.hold(9, "yours", now + 1) is None
    pending.release(9, "yours")  # not yours to release
    assert pending.hold(9, "yours", now + 1) is None
    taken = pending.hold(9, "yours", now + pending.HOLD_SECONDS + 1)  # "mine" died: its hold expired
    assert taken is not None
    pending.release(9, "mine")  # a late release by the old holder changes nothing
    assert pending.finish(9, "mine", mine.kept, int(now)) is False
    assert pending.hold(9, "third", now + pending.HOLD_SECONDS + 2) is None
    assert pending.finish(9, "yours", taken.kept, int(now)) is True


def test_nothing_kept_means_no_replay_to_take(aws):
    connect("c1", 9)
    assert pending.hold(9, "anyone", time.time()) is None
    assert push.replay(9) == 0


def test_a_frame_kept_because_the_only_known_connection_was_gone_goes_to_a_connection_opened_since(sender):
    """The batch saw only a connection that turned out gone; a newer one opened (and replayed nothing) meanwhile:
    the kept frame goes to it at once, before any newer frame can reach it live."""
    connect("old", 9)
    sender.gone.add("old")
    seen, _ = connections.reach([9], time.time(), consistent=True)
    connect("new", 9)
    first_ping("new")
    replays = push.Replays(push.Deadline())
    push.deliver([(9, push.encode({"msg_code": 200, "message": "m0"}))], "000000000000001#0",
                 push.Recipients(seen), replays)
    replays.wait()
    assert messages_at(sender, "new") == ["m0"]
    assert pending.list_for(9, time.time()) == []


def test_a_frame_kept_behind_a_replay_that_finished_meanwhile_goes_out_live_after_the_replayed_ones(sender):
    """The batch read the set while the kept frames were being replayed; the keeper reads it again after the replay
    cleared it: the frame is taken back and posted live, after the replayed ones, once, with no second replay."""
    keep(9, "m0", "m1")
    connect("late", 9)
    seen, _ = connections.reach([9], time.time(), consistent=True)
    first_ping("late")
    replays = push.Replays(push.Deadline())
    assert push.deliver([(9, push.encode({"msg_code": 200, "message": "m2"}))], "000000000000002#0",
                        push.Recipients(seen), replays) == {}
    assert replays.wait() == 0
    assert messages_at(sender, "late") == ["m0", "m1", "m2"]
    assert pending.list_for(9, time.time()) == [] and not connections.reach([9], time.time())[0][9].kept


def test_a_kept_frame_is_taken_back_only_while_nothing_is_kept_and_it_is_still_there(sender):
    """Taking back writes nothing when a keeper raised `kept` (the frame is left to a replay) or when the frame is
    gone (a replay posted it)."""
    keep(9, "m0")  # 9 is offline: `kept` raised
    key = pending.list_for(9, time.time())[0].sort_key.removeprefix(keys.PENDING_PREFIX)
    assert pending.take_back(9, [key]) is pending.TakenBack.LEFT
    assert len(pending.list_for(9, time.time())) == 1
    connect("late", 9)
    first_ping("late")  # replays m0 and clears `kept`
    assert pending.take_back(9, [key]) is pending.TakenBack.REPLAYED
    assert messages_at(sender, "late") == ["m0"]


def test_a_keeper_whose_frame_a_replay_posted_before_it_read_the_set_again_raises_nothing(sender):
    """Kept, then listed and posted by a replay that cleared `kept` before the keeper's `mark` read the set: the
    frame is gone, so the keeper neither posts it nor raises `kept` for a replay of nothing."""
    connect("late", 9)
    pending.store([(9, "000000000000001#00000", '{"message":"m0"}')], int(time.time() * 1000))
    pending.mark([9], time.time())  # another keeper of the user raised `kept`
    assert push.replay(9) == 1
    seen = pending.mark([9], time.time(), take_back=lambda user_id: pending.take_back(
        user_id, ["000000000000001#00000"]))
    assert seen[9].kept == 0 and seen[9].connections == []
    assert not connections.reach([9], time.time())[0][9].kept
    assert messages_at(sender, "late") == ["m0"]


def test_frames_past_their_retention_are_deleted_unposted_and_do_not_hide_newer_ones(sender):
    """TTL deletes late: a page full of expired frames must not read as "nothing kept" while newer ones wait."""
    long_ago_ms = int((time.time() - pending.RETENTION_SECONDS - 60) * 1000)
    pending.store([(9, f"000000000000001#{n:05d}", '{"message":"old"}') for n in range(pending.PAGE + 1)],
                  long_ago_ms)
    pending.store([(9, "000000000000002#00000", '{"message":"new"}')], int(time.time() * 1000))
    pending.mark([9], time.time())
    connect("c1", 9)
    assert push.replay(9) == 1
    assert messages_at(sender, "c1") == ["new"]
    assert pending.page(9) == [] and pending.hold(9, "anyone", time.time()) is None


def test_a_replay_out_of_time_posts_nothing_more_and_releases_its_hold(sender):
    keep(9, "m0", "m1")
    connect("c1", 9)
    assert push.replay(9, push.Deadline.after(0)) == 0
    assert sender.sent == [] and len(pending.list_for(9, time.time())) == 2
    assert push.replay(9, push.Deadline.after(10)) == 2  # the hold was released: the next replay takes it
    assert messages_at(sender, "c1") == ["m0", "m1"]


def test_a_replay_post_failing_for_one_socket_loses_and_repeats_nothing(sender):
    """Two sockets of one user; the first replay's post of m0 to "b" fails (API Gateway's 500): the replay stops
    there, noting that "a" took m0. The next replay (here a newer frame's delivery) posts m0 to "b" only, then
    the rest, newer frame last, to both: each socket gets every frame once, in order. A post that fails fewer
    times than POST_ATTEMPTS is just tried again."""
    keep(9, "m0", "m1")
    connect("a", 9)
    connect("b", 9)
    sender.failing["b"] = push.POST_ATTEMPTS
    assert push.replay(9) == 0
    assert messages_at(sender, "a") == ["m0"] and messages_at(sender, "b") == []
    assert len(pending.list_for(9, time.time())) == 2
    deliver_now([(9, {"msg_code": 200, "message": "m2"})], key="000000000000002#0")
    assert messages_at(sender, "a") == messages_at(sender, "b") == ["m0", "m1", "m2"]
    assert pending.list_for(9, time.time()) == [] and pending.hold(9, "anyone", time.time()) is None


def test_a_socket_whose_posts_keep_failing_stops_holding_back_the_others(sender):
    """After MAX_REPLAYS_STOPPED replays failed on a frame, it counts as delivered (the failing socket misses it, as a
    dead letter), and that socket gets nothing more from that replay: the user's other sockets move on."""
    keep(9, "m0", "m1")
    connect("a", 9)
    connect("broken", 9)
    sender.failing["broken"] = 10 ** 6
    for _ in range(push.MAX_REPLAYS_STOPPED - 1):
        assert push.replay(9) == 0
    assert messages_at(sender, "a") == ["m0"]
    assert push.replay(9) == 2
    assert messages_at(sender, "a") == ["m0", "m1"] and messages_at(sender, "broken") == []
    assert pending.list_for(9, time.time()) == []


def test_a_replay_tries_a_failed_post_again_at_once(sender):
    keep(9, "m0", "m1")
    connect("a", 9)
    sender.failing["a"] = push.POST_ATTEMPTS - 1
    assert push.replay(9) == 2
    assert messages_at(sender, "a") == ["m0", "m1"] and pending.list_for(9, time.time()) == []

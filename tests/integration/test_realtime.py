"""WebSocket handlers and push fan-out, driven with API Gateway-shaped events (moto in-process)."""
from __future__ import annotations

import threading
import time

from chalicelib.db import connections, pending
from chalicelib.realtime import push
from chalicelib.security.tokens import issue_token
from chalicelib.ws import handlers
from tests.support.factories import ws_event


def connect(connection_id, user_id=7, connected_at_ms=None):
    token = issue_token(user_id, "uid", "name").token
    return handlers.connect(ws_event("$connect", connection_id, query={"token": token},
                                     connected_at_ms=connected_at_ms or int(time.time() * 1000)))


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
    assert connections.owner_of("c1") == 7
    assert handlers.disconnect(ws_event("$disconnect", "c1")) == {"statusCode": 200}
    assert [c.connection_id for c in connections.live_connections([7], time.time())[7]] == ["c2"]
    assert connections.owner_of("c1") is None
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


def test_push_reaches_every_connection_of_every_recipient(sender):
    connect("a1", 7)
    connect("a2", 7)
    connect("b1", 8)
    report = push.push([(7, {"msg_code": 200, "message": "hi"}), (8, {"msg_code": 200, "message": "yo"})],
                       keep_as="000000000000001#1")
    assert report.delivered == 3 and report.kept_for == []
    assert sender.frames_for("a1") == sender.frames_for("a2") == [{"msg_code": 200, "message": "hi"}]
    assert sender.frames_for("b1") == [{"msg_code": 200, "message": "yo"}]


def test_gone_connections_are_forgotten_and_others_still_receive(sender):
    connect("a1", 7)
    connect("a2", 7)
    sender.gone.add("a1")
    report = push.push([(7, {"msg_code": 200})], keep_as="000000000000001#1")
    assert report.delivered == 1 and [c.connection_id for c in report.gone] == ["a1"]
    assert [c.connection_id for c in connections.live_connections([7], time.time())[7]] == ["a2"]
    assert connections.owner_of("a1") is None


def test_frames_for_offline_users_are_kept_and_replayed_in_order_exactly_once(sender):
    for number in range(3):
        push.push([(9, {"msg_code": 200, "message": f"m{number}"})], keep_as=f"000000000000001#{number}")
    assert sender.sent == []
    assert len(pending.list_for(9, time.time())) == 3
    connect("late", 9)
    first_ping = ws_event("$default", "late", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000))
    handlers.message(first_ping)
    handlers.message(first_ping)
    assert [frame["message"] for frame in sender.frames_for("late")] == ["m0", "m1", "m2"]
    assert pending.list_for(9, time.time()) == []


def test_keeping_the_same_delivery_twice_keeps_it_once(sender):
    """A delivery retried after the function died keeps its frames under the same keys."""
    for _ in range(2):
        push.push([(9, {"msg_code": 200, "message": "once"})], keep_as="000000000000001#7")
    assert len(pending.list_for(9, time.time())) == 1


def test_frame_kept_when_every_connection_is_gone(sender):
    connect("a1", 7)
    sender.gone.add("a1")
    report = push.push([(7, {"msg_code": 200, "message": "keep me"})], keep_as="000000000000001#1")
    assert report.kept_for == [7]
    assert [event.frame for event in pending.list_for(7, time.time())] == ['{"msg_code":200,"message":"keep me"}']


def test_failed_replay_puts_the_event_back(sender):
    push.push([(9, {"msg_code": 200, "message": "m0"})], keep_as="000000000000001#1")
    connect("late", 9)
    sender.gone.add("late")
    handlers.message(ws_event("$default", "late", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000)))
    assert len(pending.list_for(9, time.time())) == 1


def test_frames_keep_any_text_intact(sender):
    connect("a1", 7)
    text = 'quote " backslash \\ newline \n emoji 😀 <b>&'
    push.push([(7, {"msg_code": 200, "message": text})], keep_as="000000000000001#1")
    assert sender.frames_for("a1")[0]["message"] == text


def keep(user_id, *messages):
    for number, message in enumerate(messages):
        push.push([(user_id, {"msg_code": 200, "message": message})], keep_as=f"000000000000001#{number}")


def test_a_delivery_to_a_new_connection_replays_its_kept_frames_first(sender):
    """The socket's first heartbeat may come after newer frames are delivered: they must not overtake."""
    keep(9, "m0", "m1")
    connect("late", 9)
    push.push([(9, {"msg_code": 200, "message": "m2"})], keep_as="000000000000002#0")
    assert [frame["message"] for frame in sender.frames_for("late")] == ["m0", "m1", "m2"]
    handlers.message(ws_event("$default", "late", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000)))
    assert len(sender.frames_for("late")) == 3 and pending.list_for(9, time.time()) == []


def test_a_connection_past_its_replay_window_is_not_replayed_to_by_deliveries(sender, monkeypatch):
    keep(9, "m0")
    connect("settled", 9)
    later = time.time() + connections.REPLAY_WINDOW_SECONDS + 1
    monkeypatch.setattr("chalicelib.clock.now", lambda: later)
    push.push([(9, {"msg_code": 200, "message": "m1"})], keep_as="000000000000002#0")
    assert [frame["message"] for frame in sender.frames_for("settled")] == ["m1"]
    assert len(pending.list_for(9, time.time())) == 1


def test_a_held_event_is_nobody_elses_until_its_hold_expires(aws):
    keep(9, "m0")
    [event] = pending.list_for(9, time.time())
    now = time.time()
    assert pending.claim(event, now) is True
    assert pending.claim(event, now + 1) is False
    assert pending.claim(event, now + pending.CLAIM_SECONDS + 1) is True  # its replayer died before posting
    pending.release(event)
    assert pending.claim(event, now + pending.CLAIM_SECONDS + 1) is True


def test_a_delivery_waits_for_another_replayer_instead_of_overtaking_it(sender):
    """Another replayer holds m0 while posting it: the delivery waits for it, then replays m1, then posts m2."""
    keep(9, "m0", "m1")
    connect("late", 9)
    held = pending.list_for(9, time.time())[0]
    assert pending.claim(held, time.time())
    delivery = threading.Thread(target=push.push, args=([(9, {"msg_code": 200, "message": "m2"})],),
                                kwargs={"keep_as": "000000000000002#0"})
    delivery.start()
    time.sleep(0.3)
    assert sender.frames_for("late") == []  # waiting behind the hold
    sender.post("late", held.frame.encode())
    pending.done(held)
    delivery.join(timeout=pending.CLAIM_SECONDS + 5)
    assert [frame["message"] for frame in sender.frames_for("late")] == ["m0", "m1", "m2"]


def test_a_frame_kept_because_the_only_known_connection_was_gone_goes_to_a_connection_opened_since(sender):
    """The lookup saw only a connection that turned out gone; a newer one opened (and replayed) meanwhile: the
    kept frame is handed to it at once, before any newer frame can reach it live."""
    connect("old", 9)
    sender.gone.add("old")
    seen = connections.live_connections([9], time.time())
    connect("new", 9)
    handlers.message(ws_event("$default", "new", body='{"msg_code":1004}', connected_at_ms=int(time.time() * 1000)))
    push.push([(9, {"msg_code": 200, "message": "m0"})], keep_as="000000000000001#0", live=seen)
    assert [frame["message"] for frame in sender.frames_for("new")] == ["m0"]
    assert pending.list_for(9, time.time()) == []

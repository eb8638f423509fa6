"""`make check-table` knows the invariants of blocks, pins and sequences."""
from __future__ import annotations

from infra.local.check_table import violations


def head(pk, **extra):
    return {"PK": pk, "SK": "META", "last_seq": 0, **extra}


def test_a_block_and_its_head_agree():
    items = [{"PK": "USER#3", "SK": "BLOCK#7"}, head("CONV#P#3#7", blocked_by={"3"})]
    assert violations(items) == []
    assert violations([items[0], head("CONV#P#3#7")]) == ["block USER#3 → 7 is not in the pair's head"]
    assert violations([head("CONV#P#3#7", blocked_by={"7"})]) == [
        "conversation CONV#P#3#7 names 7 in blocked_by without their block"]


def test_the_pin_count_is_the_number_of_pins():
    pins = [{"PK": "CONV#G#5", "SK": f"PIN#{n:012d}"} for n in (1, 2)]
    assert violations([*pins, {"PK": "CONV#G#5", "SK": "PINS", "pinned": 2}]) == []
    assert violations([*pins, {"PK": "CONV#G#5", "SK": "PINS", "pinned": 3}]) == [
        "conversation CONV#G#5 counts 3 pins but has 2"]


def message(pk, seq, msg_id):
    return {"PK": pk, "SK": f"MSG#{seq:012d}", "seq": seq, "msg_id": msg_id}


def test_a_sequence_may_stay_empty_but_no_message_lies_past_the_head_and_the_newest_is_the_heads():
    stored = [message("CONV#G#5", 1, 101), message("CONV#G#5", 3, 103)]  # 2 stayed empty
    assert violations([*stored, head("CONV#G#5", last_seq=3, sent='{"msg_id":103}')]) == []
    # 4 stayed empty, or its history item is not written yet
    assert violations([*stored, head("CONV#G#5", last_seq=4, sent='{"msg_id":104}')]) == []
    assert violations([*stored, head("CONV#G#5", last_seq=2, sent='{"msg_id":102}')]) == [
        "conversation CONV#G#5 head last_seq 2 but a message at 3"]
    assert violations([*stored, head("CONV#G#5", last_seq=3, sent='{"msg_id":999}')]) == [
        "conversation CONV#G#5 head carries message 999 but 103 is stored at 3"]

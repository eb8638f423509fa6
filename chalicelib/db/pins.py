"""Pinned messages of a conversation: a Pin item per message and the conversation's PinBoard count, changed together
in one transaction whose conditions hold the limit whatever runs at the same time."""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError

from chalicelib.db import conflicts, keys
from chalicelib.db.messages import MessageRecord, record_of
from chalicelib.db.models import Conversation, Item, Message, Pin, PinBoard, tag
from chalicelib.db.transactions import failed_conditions, transaction


class PinsFull(Exception):
    pass


class Blocked(Exception):
    pass


class Recalled(Exception):
    pass


@dataclass(frozen=True)
class PinRecord:
    seq: int
    pinned_by: int
    pinned_at: float


@conflicts.retrying()
def pin(conversation: str, seq: int, by: int, now: float, limit: int, refused_by: int | None) -> bool:
    """False when it was pinned already (nothing written); PinsFull when `limit` are pinned; Recalled when the
    message was recalled meanwhile; Blocked when `refused_by` blocks `by` (the head names them in `blocked_by`,
    as for a send: db/blocks.py)."""
    try:
        with transaction() as tx:
            tx.condition_check(Message, conversation, keys.message_sk(seq), condition=Message.recalled_at == 0)
            if refused_by is not None:
                tx.condition_check(Conversation, conversation, keys.CONVERSATION_META_SK,
                                   condition=~Conversation.blocked_by.contains(refused_by))
            tx.save(Pin(conversation, keys.pin_sk(seq), seq=seq, pinned_by=by, pinned_at=now),
                    condition=Pin.PK.does_not_exist())
            tx.update(PinBoard(conversation, keys.PIN_BOARD_SK), actions=[tag(PinBoard), PinBoard.pinned.add(1)],
                      condition=PinBoard.pinned.does_not_exist() | (PinBoard.pinned < limit))
    except TransactWriteError as error:
        failed = failed_conditions(error)
        if not failed:
            raise
        # PynamoDB sends condition checks, then puts, then updates: the message, the head (when checked), the pin,
        # the board
        checks = 1 if refused_by is None else 2
        if checks == 2 and 1 in failed:
            raise Blocked() from error
        if checks in failed:
            return False
        if 0 in failed:
            raise Recalled() from error
        raise PinsFull() from error
    return True


@conflicts.retrying()
def unpin(conversation: str, seq: int) -> bool:
    """False when it was not pinned (nothing written)."""
    try:
        with transaction() as tx:
            tx.delete(Pin(conversation, keys.pin_sk(seq)), condition=Pin.PK.exists())
            tx.update(PinBoard(conversation, keys.PIN_BOARD_SK), actions=[PinBoard.pinned.add(-1)],
                      condition=PinBoard.pinned > 0)
    except TransactWriteError as error:
        if failed_conditions(error):
            return False
        raise
    return True


def pinned(conversation: str) -> list[tuple[PinRecord, MessageRecord]]:
    """Newest pin first, with its message: one Query (at most the limit's items) and one BatchGetItem."""
    pins = [PinRecord(int(item.seq), int(item.pinned_by), float(item.pinned_at))
            for item in Item.query(conversation, Item.SK.startswith(keys.PIN_PREFIX), consistent_read=True)
            if isinstance(item, Pin)]
    if not pins:
        return []
    found = {int(item.seq): record_of(item)
             for item in Item.batch_get([(conversation, keys.message_sk(pin.seq)) for pin in pins])
             if isinstance(item, Message)}
    return [(pin, found[pin.seq]) for pin in sorted(pins, key=lambda pin: pin.pinned_at, reverse=True)
            if pin.seq in found]

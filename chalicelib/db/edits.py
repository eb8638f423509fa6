"""Editing a text message: the new text on the message, the text it replaces kept as a MessageEdit item, and the
conversation's preview when it is the last message, in one transaction conditioned on what the edit decided on
(in a private conversation, the peer not blocking the editor, as a send is: db/blocks.py)."""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition

from chalicelib.db import keys
from chalicelib.db.conflicts import LostRace
from chalicelib.db.messages import MessageRecord
from chalicelib.db.models import Conversation, Item, Message, MessageEdit
from chalicelib.db.transactions import failed_conditions, transaction

TEXT = 1


@dataclass(frozen=True)
class Version:
    version: int  # 0: as sent
    content: str
    written_at: float
    replaced_at: float


def edit(message: MessageRecord, content: str, now: float, *, is_last: bool, not_before: float,
         refused_by: int | None) -> None:
    """Raises LostRace when anything the edit decided on changed meanwhile (another edit took this version, a
    recall, a newer last message, `refused_by` blocked the editor: the head names them in `blocked_by`): the caller
    reads again and decides again."""
    count = message.edit_count
    condition = ((Message.form_id == message.form_id) & (Message.recalled_at == 0) & (Message.msg_type == TEXT)
                 & (Message.send_time >= not_before))
    condition &= Message.edit_count.does_not_exist() if count == 0 else Message.edit_count == count
    previous = MessageEdit(message.conversation, keys.message_edit_sk(message.seq, count), seq=message.seq,
                           version=count, content=message.content,
                           written_at=message.edited_at or message.send_time, replaced_at=now)
    try:
        with transaction() as tx:
            tx.update(Message(message.conversation, keys.message_sk(message.seq)), actions=[
                Message.content.set(content), Message.edited_at.set(now), Message.edit_count.set(count + 1),
                Message.change.set("edit")], condition=condition)
            tx.save(previous, condition=MessageEdit.PK.does_not_exist())
            if is_last:
                last = Conversation.last_seq == message.seq
                tx.update(Conversation(message.conversation, keys.CONVERSATION_META_SK),
                          actions=[Conversation.fresh.remove(), Conversation.last_content.set(content[:200])],
                          condition=last if refused_by is None else last & _not_blocked_by(refused_by))
            elif refused_by is not None:  # one action per item in a transaction: the head is checked, not written
                tx.condition_check(Conversation, message.conversation, keys.CONVERSATION_META_SK,
                                   condition=_not_blocked_by(refused_by))
    except TransactWriteError as error:
        if failed_conditions(error):
            raise LostRace("the message changed meanwhile") from error
        raise


def _not_blocked_by(user_id: int) -> Condition:
    return ~Conversation.blocked_by.contains(user_id)


def versions(conversation: str, seq: int) -> list[Version]:
    """Previous versions, oldest first: one Query (at most the edit limit's items)."""
    found = Item.query(conversation, Item.SK.startswith(keys.message_edits_prefix(seq)), consistent_read=True)
    return [Version(int(item.version), item.content, float(item.written_at), float(item.replaced_at))
            for item in found if isinstance(item, MessageEdit)]

"""Email verification codes: one item per address holding the resend window and each purpose's code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.db import conflicts, keys
from chalicelib.db.models import EmailCodes, EmailLogin, Item, tag

CODES_SK = "CODES"
PURPOSES = {1: "register", 2: "reset"}


@dataclass(frozen=True)
class CodeState:
    """The address's sending record (what the resend limits need)."""

    sent_at: float
    day: str
    day_count: int
    raw: dict[str, Any]


def _code_attributes(purpose: int) -> tuple[Any, Any, Any]:
    prefix = PURPOSES[purpose]
    return tuple(getattr(EmailCodes, f"{prefix}_{name}") for name in ("hash", "expires", "attempts"))  # type: ignore[return-value]


def _state(item: EmailCodes | None) -> CodeState:
    if item is None:
        return CodeState(0, "", 0, {})
    return CodeState(sent_at=float(item.sent_at or 0), day=item.day or "", day_count=int(item.day_count or 0),
                     raw=item.serialize())


def read_for_sending(email: str) -> tuple[bool, CodeState]:
    """Whether the address is registered, and its sending record, in one BatchGetItem."""
    registered = False
    codes: EmailCodes | None = None
    for item in Item.batch_get([(keys.email_pk(email), keys.EMAIL_SK), (keys.email_codes_pk(email), CODES_SK)]):
        if isinstance(item, EmailLogin):
            registered = True
        elif isinstance(item, EmailCodes):
            codes = item
    return registered, _state(codes)


@conflicts.retrying()
def store_sent(email: str, purpose: int, previous: CodeState, code_hash: str | None, *, now: float, day: str,
               code_ttl: int) -> bool:
    """Record a send (and its code, if any) only if nobody else sent since `previous` was read."""
    item = EmailCodes(keys.email_codes_pk(email), CODES_SK)
    day_count = previous.day_count + 1 if previous.day == day else 1
    actions: list[Action] = [
        tag(EmailCodes),
        EmailCodes.sent_at.set(now),
        EmailCodes.day.set(day),
        EmailCodes.day_count.set(day_count),
        EmailCodes.expires_at.set(int(now + 2 * 86400)),
    ]
    hash_attr, expires_attr, attempts_attr = _code_attributes(purpose)
    if code_hash is None:
        actions += [hash_attr.remove(), expires_attr.remove(), attempts_attr.remove()]
    else:
        actions += [hash_attr.set(code_hash), expires_attr.set(now + code_ttl), attempts_attr.set(0)]
    condition = EmailCodes.sent_at == previous.sent_at if previous.sent_at else EmailCodes.PK.does_not_exist()
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@conflicts.retrying()
def restore(email: str, previous: CodeState, sent_at: float) -> None:
    """Undo `store_sent` after the email could not be sent, unless another send happened since."""
    item = EmailCodes(keys.email_codes_pk(email), CODES_SK)
    try:
        if previous.raw:
            restored = EmailCodes.from_raw_data(previous.raw)
            restored.save(condition=EmailCodes.sent_at == sent_at)
        else:
            item.delete(condition=EmailCodes.sent_at == sent_at)
    except (PutError, DeleteError) as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise  # a failed condition means a newer send replaced it: nothing to undo


@conflicts.retrying()
def take_attempt(email: str, purpose: int, now: float, max_attempts: int) -> str | None:
    """Count one attempt at the live code and hand back its hash for the comparison, in one conditional write:
    attempts are counted before they are compared, so however many run at once, at most `max_attempts` of them
    ever see the hash. None when there is no live code with an attempt left (unknown, expired, used or spent)."""
    hash_attr, expires_attr, attempts_attr = _code_attributes(purpose)
    item = EmailCodes(keys.email_codes_pk(email), CODES_SK)
    try:
        item.update(actions=[attempts_attr.add(1)],
                    condition=hash_attr.exists() & (expires_attr > now) & (attempts_attr < max_attempts))
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    code_hash: str | None = getattr(item, f"{PURPOSES[purpose]}_hash")
    return code_hash


@dataclass(frozen=True)
class CodeUse:
    """Spending a code inside another transaction: it must still be the same live code (its attempt was counted
    by `take_attempt`, so no attempt limit applies here)."""

    email: str
    purpose: int
    code_hash: str
    now: float

    def add_to(self, tx: TransactWrite) -> None:
        hash_attr, expires_attr, attempts_attr = _code_attributes(self.purpose)
        tx.update(
            EmailCodes(keys.email_codes_pk(self.email), CODES_SK),
            actions=[hash_attr.remove(), expires_attr.remove(), attempts_attr.remove()],
            condition=(hash_attr == self.code_hash) & (expires_attr > self.now),
        )

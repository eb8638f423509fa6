"""Ended tokens: a per-user epoch (every token issued before it moved is ended) and revoked token ids."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.db import conflicts, keys
from chalicelib.db.models import EmailLogin, Item, RevokedToken, TokenEpoch, tag
from chalicelib.db.transactions import transaction


@dataclass(frozen=True)
class TokenState:
    epoch: int
    revoked: bool


def read_state(user_id: int, jti: str) -> TokenState:
    """The user's token epoch and whether this token id was revoked: one BatchGetItem."""
    epoch, revoked = 0, False
    for item in Item.batch_get([(keys.user_pk(user_id), keys.TOKEN_EPOCH_SK),
                                (keys.revoked_token_pk(jti), keys.REVOKED_TOKEN_SK)]):
        if isinstance(item, TokenEpoch):
            epoch = int(item.epoch or 0)
        elif isinstance(item, RevokedToken):
            revoked = True
    return TokenState(epoch, revoked)


@conflicts.retrying()
def revoke(jti: str, user_id: int, expires_at: int) -> None:
    RevokedToken(keys.revoked_token_pk(jti), keys.REVOKED_TOKEN_SK, user_id=user_id, expires_at=expires_at).save()


def add_epoch_move(tx: TransactWrite, user_id: int, email: str, login_actions: Sequence[Action] = ()) -> None:
    """Move the user's epoch and the copy login reads together, inside the caller's transaction (which may
    change the login item further with `login_actions`, since a transaction touches an item once)."""
    tx.update(TokenEpoch(keys.user_pk(user_id), keys.TOKEN_EPOCH_SK),
              actions=[tag(TokenEpoch), TokenEpoch.epoch.add(1)])
    tx.update(EmailLogin(keys.email_pk(email), keys.EMAIL_SK),
              actions=[EmailLogin.token_epoch.add(1), *login_actions], condition=EmailLogin.user_id == user_id)


@conflicts.retrying()
def end_all(user_id: int, email: str) -> None:
    with transaction() as tx:
        add_epoch_move(tx, user_id, email)


def add_liveness_checks(tx: TransactWrite, user_id: int, jti: str, epoch: int) -> None:
    """Condition checks that fail when the token was ended: its epoch moved on, or its id was revoked."""
    epoch_holds: Condition = TokenEpoch.epoch.does_not_exist() | (TokenEpoch.epoch <= epoch)
    tx.condition_check(TokenEpoch, keys.user_pk(user_id), keys.TOKEN_EPOCH_SK, condition=epoch_holds)
    tx.condition_check(RevokedToken, keys.revoked_token_pk(jti), keys.REVOKED_TOKEN_SK,
                       condition=RevokedToken.PK.does_not_exist())

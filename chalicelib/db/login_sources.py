"""Sources (IP addresses) an account logged in from, so that other sources' failures never pace them. Each is
one item in the account's `EMAIL#` partition, read with the login record in one BatchGetItem."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.db import keys
from chalicelib.db.models import EmailLogin, Item, KnownSource
from chalicelib.db.users import LoginRecord, login_record

REFRESH_SECONDS = 86400  # a known source's record is rewritten at most once a day


@dataclass(frozen=True)
class LoginView:
    """The account's login record (None: no such account) and when this source last logged in to it (0: never,
    or longer ago than it is remembered)."""

    record: LoginRecord | None
    source_last_login: float

    @property
    def source_known(self) -> bool:
        return self.source_last_login > 0

    def source_stale(self, now: float) -> bool:
        return now - self.source_last_login >= REFRESH_SECONDS


def read(email: str, source_ip: str, now: float) -> LoginView:
    record: LoginRecord | None = None
    last_login = 0.0
    for item in Item.batch_get([(keys.email_pk(email), keys.EMAIL_SK),
                                (keys.email_pk(email), keys.known_source_sk(source_ip))]):
        if isinstance(item, EmailLogin):
            record = login_record(item)
        elif isinstance(item, KnownSource) and (item.expires_at or 0) > now:  # TTL deletes expired items late
            last_login = float(item.last_login)
    return LoginView(record, last_login)


def remember(email: str, source_ip: str, now: float, keep_seconds: int) -> None:
    """Record a successful login from `source_ip` (idempotent: the latest success wins)."""
    KnownSource(keys.email_pk(email), keys.known_source_sk(source_ip), last_login=now,
                expires_at=int(now + keep_seconds)).save()

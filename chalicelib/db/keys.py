"""Every key format of the single table, and nowhere else. See docs/data-model.md."""
from __future__ import annotations

PROFILE = "PROFILE"
SEQ_WIDTH = 12


def seq(number: int) -> str:
    """Zero-padded so string order is numeric order."""
    return str(number).zfill(SEQ_WIDTH)


def user_pk(user_id: int) -> str:
    return f"USER#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def name_pk(name: str) -> str:
    return f"NAME#{name.casefold()}"


def email_codes_pk(email: str) -> str:
    return f"EMAILCODE#{email.lower()}"


def login_failures_pk(email: str) -> str:
    return f"LOGINFAIL#{email.lower()}"


def counter_pk(kind: str) -> str:
    return f"COUNTER#{kind}"


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


CONNECTIONS_SK = "CONNS"
PENDING_PREFIX = "PENDING#"


def pending_sk(ordering_key: str) -> str:
    return f"{PENDING_PREFIX}{ordering_key}"

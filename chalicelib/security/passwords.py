"""bcrypt hashing; verifies the origin's `$2a$` hashes; one bcrypt check per login whatever happens."""
from __future__ import annotations

from functools import lru_cache

from chalicelib.config import get_settings
from chalicelib.errors import InvalidInput

MIN_LENGTH = 6
MAX_LENGTH = 20
BCRYPT_MAX_BYTES = 72


def check_new_password(password: str, repeat: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        raise InvalidInput("password is too long")
    if password != repeat:
        raise InvalidInput("password_repeat does not match password")


def hash_password(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(get_settings().bcrypt_rounds)).decode("ascii")


# A well-formed bcrypt string (22 salt + 31 digest characters) that no password matches; checking
# against it at the configured cost takes as long as a real check, without hashing anything first.
_DUMMY_SALT_AND_DIGEST = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return f"$2b${rounds:02d}${_DUMMY_SALT_AND_DIGEST}".encode("ascii")


def verify_password(password: str, stored_hash: str | None) -> bool:
    """Always exactly one bcrypt check, so an unknown email costs the same time as a wrong password."""
    import bcrypt

    candidate = password.encode("utf-8")
    if len(candidate) > BCRYPT_MAX_BYTES:
        candidate = candidate[:BCRYPT_MAX_BYTES]
        stored_hash = None
    if not stored_hash:
        bcrypt.checkpw(candidate, _dummy_hash(get_settings().bcrypt_rounds))
        return False
    try:
        return bcrypt.checkpw(candidate, stored_hash.encode("ascii"))
    except ValueError:
        return False

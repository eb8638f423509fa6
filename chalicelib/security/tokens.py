"""HS256 JWTs with origin-compatible claims (`id`, `uid`, `name`, `expire_time`) plus the standard ones."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from chalicelib.config import get_jwt_secret, get_settings
from chalicelib.errors import Unauthorized

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Claims:
    user_id: int
    uid: str
    name: str
    expire_time: int
    jti: str = ""
    epoch: int = 0  # the `ep` claim: the user's token epoch when it was issued (see security/revocation.py)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expire_time: int
    ttl: int


def issue_token(user_id: int, uid: str, name: str, epoch: int = 0) -> IssuedToken:
    import jwt

    settings = get_settings()
    issued_at = int(time.time())
    expires = issued_at + settings.jwt_ttl_seconds
    payload = {
        "id": user_id,
        "uid": uid,
        "name": name,
        "expire_time": expires,
        "exp": expires,
        "iat": issued_at,
        "nbf": issued_at,
        "iss": settings.jwt_issuer,
        "jti": uuid.uuid4().hex,
        "ep": epoch,
    }
    token = jwt.encode(payload, get_jwt_secret(), algorithm=ALGORITHM)
    return IssuedToken(token=token, expire_time=expires, ttl=settings.jwt_ttl_seconds)


def decode_token(token: str) -> Claims:
    import jwt

    try:
        payload = jwt.decode(
            token,
            get_jwt_secret(),
            algorithms=[ALGORITHM],
            issuer=get_settings().jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "nbf", "iss", "id", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token has expired, please log in again") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthorized("token is not valid yet") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid token") from exc
    user_id = payload.get("id")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise Unauthorized("invalid token")
    epoch = payload.get("ep", 0)
    jti = payload["jti"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not isinstance(jti, str) or not jti:
        raise Unauthorized("invalid token")
    return Claims(
        user_id=user_id,
        uid=str(payload.get("uid", "")),
        name=str(payload.get("name", "")),
        expire_time=int(payload["exp"]),
        jti=jti,
        epoch=epoch,
    )

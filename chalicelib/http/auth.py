"""Who is calling: a JWT from `?token=` (wins when present, as in the origin) or `Authorization: Bearer`."""
from __future__ import annotations

from collections.abc import Mapping

from chalicelib.errors import Unauthorized
from chalicelib.security.revocation import ensure_live
from chalicelib.security.tokens import Claims, decode_token


def token_from(query: Mapping[str, str] | None, headers: Mapping[str, str]) -> str:
    if query and "token" in query:
        raw = query["token"]
    else:
        raw = headers.get("authorization", "")
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    return raw


def authenticate(query: Mapping[str, str] | None, headers: Mapping[str, str]) -> Claims:
    token = token_from(query, headers)
    if not token:
        raise Unauthorized("missing token: send Authorization: Bearer <token> or ?token=<token>")
    claims = decode_token(token)
    ensure_live(claims)
    return claims

"""Domain errors. Services raise them; the HTTP and WebSocket layers turn them into answers."""
from __future__ import annotations

BAD_REQUEST = 1000
UPSTREAM_FAILURE = 1001
FORBIDDEN_RELATION = 1003
RATE_LIMITED = 429
UNAUTHORIZED = 401
INTERNAL = 500
SERVICE_BUSY = 503


class AppError(Exception):
    code = BAD_REQUEST
    http_status = 200

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(AppError):
    """Bad parameter, unknown entity or conflicting state (business code 1000)."""


class UpstreamFailure(AppError):
    code = UPSTREAM_FAILURE


class Forbidden(AppError):
    """The relation between the caller and the target forbids the action (business code 1003)."""

    code = FORBIDDEN_RELATION


class RateLimited(AppError):
    """An application limit (HTTP 200, business code 429, `Retry-After` header): the web client shows `message`
    only for HTTP 200 envelopes, so the wait is said in words as well."""

    code = RATE_LIMITED

    def __init__(self, what: str, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"{what}; please try again in {wait_in_words(self.retry_after)}")


class Unauthorized(AppError):
    code = UNAUTHORIZED
    http_status = 401


class PayloadTooLarge(AppError):
    code = 413
    http_status = 413


def wait_in_words(seconds: int) -> str:
    """A wait as a person reads it, rounded up: '45 seconds', '15 minutes', '3 hours'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = -(-seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"

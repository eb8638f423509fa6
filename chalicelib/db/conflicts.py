"""The one way a write survives contention: re-read, decide again, write again, a bounded number of times.

Real DynamoDB cancels a transaction with reason `TransactionConflict` when another transaction touches one of
its items at the same moment, and fails a single-item write that meets an ongoing transaction with
`TransactionConflictException` (botocore retries only `TransactionInProgressException`, and only a little).
Nothing was written in either case. A repository function or a service step that reads, decides and writes
with conditions is run through `retrying`: on a conflict, or on `LostRace` (a condition failed because another
writer got there first), it sleeps a jittered, growing pause and runs the whole step again, reads included.
When the attempts run out it raises `aws.Busy`, which the HTTP layer answers with 503 and Retry-After, the same
answer as throttling that outlasted botocore's retries.
"""
from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from chalicelib.aws import Busy, is_conflict
from chalicelib.logs import log_event

ATTEMPTS = 6
BASE_PAUSE_SECONDS = 0.01
MAX_PAUSE_SECONDS = 0.25

P = ParamSpec("P")
T = TypeVar("T")


class LostRace(Exception):
    """Another writer changed what this step decided on (its condition failed): read again and retry."""


def pause(attempt: int) -> float:
    """Full jitter: uniform in [0, base × 2^attempt], capped, so racing writers spread out."""
    return random.uniform(0, min(MAX_PAUSE_SECONDS, BASE_PAUSE_SECONDS * (2 ** attempt)))


def retrying(attempts: int = ATTEMPTS) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: run the step again (it must re-read whatever it decides on) after a conflict or a lost race.

    Nesting is harmless: an inner step that gives up raises Busy, which the outer one does not retry.
    """

    def decorate(step: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(step)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            for attempt in range(attempts):
                try:
                    return step(*args, **kwargs)
                except Busy:
                    raise
                except Exception as error:
                    if not (isinstance(error, LostRace) or is_conflict(error)):
                        raise
                    if attempt == attempts - 1:
                        log_event(error="contention", step=step.__qualname__, attempts=attempts,
                                  reason=type(error).__name__)
                        raise Busy(f"{step.__qualname__}: still contended after {attempts} attempts") from error
                    time.sleep(pause(attempt))
            raise AssertionError("unreachable")

        return run

    return decorate

"""What moto's server spends on every request besides answering it, removed for the local stack.

- `moto.backends.list_of_moto_modules()` lists and stats moto's package folder on every request (the dispatcher
  asks whether the Host header names a backend): the folder does not change while the server runs, so the list is
  read once.
- werkzeug logs one line per request (`"POST / HTTP/1.1" 200 -`), which the stack then reads back through a pipe
  only to keep the last lines: request lines are no longer written; warnings, errors and the strict request check's
  refusals (printed to stderr, infra/local/strict_dynamodb.py) still are.

werkzeug's development server closes the connection after every response (it cannot drain a request body it
did not read, so it never keeps a connection alive): connection reuse is not possible without replacing the
server moto ships, which this module does not do.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from moto import backends


def trim_request_costs() -> None:
    """For the moto server process only (infra/local/moto_main.py)."""
    backends.list_of_moto_modules = _listed_once(backends.list_of_moto_modules)  # type: ignore[assignment]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _listed_once(listing: Callable[[], Iterable[str]]) -> Callable[[], tuple[str, ...]]:
    return functools.cache(lambda: tuple(listing()))

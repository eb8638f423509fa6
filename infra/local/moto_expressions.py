"""Expressions read once per text: moto lexes a condition expression, and parses an update expression twice (once
to check its names, once to apply it), on every request.

In a 200-member reconnect storm (tests/perf/reconnect_storm.py) lexing condition expressions took 12 % of local
AWS's one interpreter (py-spy, GIL samples); in the default `make load`, parsing update expressions took 5 % of it.
The app sends a handful of distinct texts (their values differ, the texts do not), and both readers read nothing
but the text:

- the condition lexer's nodes are immutable (named tuples whose empty child lists moto never changes: every later
  step builds new nodes), so each parse gets a new deque of the same nodes;
- an update expression's tree is only read where moto parses it (the names and values it uses) and copied before
  anything changes it (moto's `UpdateExpressionValidator` works on a deep copy), so one tree serves every request.
"""
from __future__ import annotations

import functools
from collections import deque
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

MAX_TEXTS = 1024  # distinct texts remembered per kind; any beyond are read on each request, as before

_lexed: dict[str, tuple[Any, ...]] = {}
_parsed: dict[str, Any] = {}


def read_each_expression_once() -> None:
    _lex_conditions_once()
    _parse_updates_once()


def _lex_conditions_once() -> None:
    moto_lex = ConditionExpressionParser._lex_condition_expression

    @functools.wraps(moto_lex)
    def lex(self: ConditionExpressionParser) -> deque[Any]:
        text = self.condition_expression or ""
        nodes = _lexed.get(text)
        if nodes is None:
            nodes = tuple(moto_lex(self))
            if len(_lexed) < MAX_TEXTS:
                _lexed[text] = nodes
        return deque(nodes)

    ConditionExpressionParser._lex_condition_expression = lex  # type: ignore[method-assign]


def _parse_updates_once() -> None:
    moto_make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]

    @functools.wraps(moto_make)
    def make(cls: type[UpdateExpressionParser], text: str) -> Any:
        tree = _parsed.get(text)
        if tree is None:
            tree = moto_make(cls, text)  # a text moto refuses raises here each time, as before
            if len(_parsed) < MAX_TEXTS:
                _parsed[text] = tree
        return tree

    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]

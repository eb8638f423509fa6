"""A condition expression is lexed once per text: moto lexes it again on every request, trying a list of regular
expressions at each position of the text.

In a 200-member reconnect storm (tests/perf/reconnect_storm.py) local AWS's one interpreter was the busiest part of
the stack, and lexing condition expressions took 12 % of it (py-spy, GIL samples): the app sends a handful of
distinct texts (their values differ, the texts do not). The lexer reads nothing but the text, and its nodes are
immutable (named tuples whose empty child lists moto never changes: every later step builds new nodes), so each
parse gets a new deque of the same nodes.
"""
from __future__ import annotations

import functools
from collections import deque
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser

MAX_TEXTS = 1024  # distinct texts remembered; any beyond are lexed on each request, as before

_lexed: dict[str, tuple[Any, ...]] = {}


def lex_each_expression_once() -> None:
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

"""moto with `infra/local/moto_conditions.py` lexes a condition expression into exactly moto's own nodes, the
first time and from the remembered nodes after, and conditions of the shapes the app sends decide as they should,
each time."""
from __future__ import annotations

import pytest
from moto.dynamodb.comparisons import ConditionExpressionParser, get_filter_expression
from moto.dynamodb.models.dynamo_type import Item

from infra.local import moto_conditions

NAMES = {"#k": "kept", "#r": "replayer", "#u": "replay_until", "#s": "SK", "#d": "due"}
VALUES = {":h": {"S": "holder-1"}, ":n": {"N": "100"}, ":v": {"N": "3"}, ":p": {"S": "PENDING#"}}
DECISIONS = {  # expression → its decision on each of ITEMS
    "attribute_exists (#k) AND (attribute_not_exists (#r) OR #u < :n)": [True, True, False],
    "#r = :h": [True, False, False],
    "(#r = :h) AND (#k = :v)": [True, False, False],
    "attribute_exists (#s)": [True, True, True],
    "NOT (#d > :n) AND begins_with (#s, :p)": [True, False, False],
    "#d BETWEEN :v AND :n OR #k IN (:v, :n)": [True, False, False],
    "size (#s) >= :v": [True, True, False],
}
ITEMS = [
    {"kept": {"N": "3"}, "replayer": {"S": "holder-1"}, "replay_until": {"N": "50"}, "SK": {"S": "PENDING#1"},
     "due": {"N": "7"}},
    {"kept": {"N": "1"}, "SK": {"S": "CONN"}, "due": {"N": "200"}},
    {"replayer": {"S": "holder-2"}, "replay_until": {"N": "150"}, "SK": {"S": "x"}},
]


def _decisions(expression: str) -> list[bool]:
    condition = get_filter_expression(expression, NAMES, VALUES)
    return [condition.expr(Item(hash_key=None, range_key=None, attrs=attrs)) for attrs in ITEMS]


@pytest.mark.parametrize("expression", list(DECISIONS))
def test_a_remembered_expression_lexes_and_decides_as_moto_does(expression: str) -> None:
    moto_lex = ConditionExpressionParser._lex_condition_expression.__wrapped__  # type: ignore[attr-defined]
    parser = ConditionExpressionParser(expression, NAMES, VALUES)
    first, remembered = parser._lex_condition_expression(), parser._lex_condition_expression()
    assert expression in moto_conditions._lexed
    assert list(first) == list(remembered) == list(moto_lex(parser))
    assert _decisions(expression) == _decisions(expression) == DECISIONS[expression]

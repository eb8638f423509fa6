"""moto with `infra/local/moto_expressions.py` lexes a condition expression into exactly moto's own nodes, the
first time and from the remembered nodes after, and conditions of the shapes the app sends decide as they should,
each time; an update expression parses into moto's own tree, which stays as it was however often it is applied."""
from __future__ import annotations

import boto3
import moto
import pytest
from moto.dynamodb.comparisons import ConditionExpressionParser, get_filter_expression
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from infra.local import moto_expressions

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
    assert expression in moto_expressions._lexed
    assert list(first) == list(remembered) == list(moto_lex(parser))
    assert _decisions(expression) == _decisions(expression) == DECISIONS[expression]


UPDATES = {  # expression of the shapes the app sends → the item it makes of ITEMS[0], with UPDATE_VALUES
    "ADD #k :v SET #r = :h, #u = if_not_exists(#u, :n) REMOVE #s": {
        "kept": {"N": "6"}, "replayer": {"S": "holder-1"}, "replay_until": {"N": "50"}, "due": {"N": "7"}},
    "SET #d = #d + :v, #l = list_append(if_not_exists(#l, :e), :l)": {
        "kept": {"N": "3"}, "replayer": {"S": "holder-1"}, "replay_until": {"N": "50"}, "SK": {"S": "PENDING#1"},
        "due": {"N": "10"}, "log": {"L": [{"S": "a"}]}},
    "DELETE #t :t ADD #c :v": {
        "kept": {"N": "3"}, "replayer": {"S": "holder-1"}, "replay_until": {"N": "50"}, "SK": {"S": "PENDING#1"},
        "due": {"N": "7"}, "count": {"N": "3"}},
}
UPDATE_NAMES = {**NAMES, "#l": "log", "#t": "tags", "#c": "count"}
UPDATE_VALUES = {**VALUES, ":e": {"L": []}, ":l": {"L": [{"S": "a"}]}, ":t": {"SS": ["x"]}}


def _shape(node: object) -> object:
    """The whole tree as plain values: each node's type and its children, in order."""
    if isinstance(node, Node):
        return node.type, [_shape(child) for child in node.children or []]
    return repr(node)


@pytest.fixture
def table():
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="expressions", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
        yield client


def _applied(table, expression: str) -> dict:
    """ITEMS[0] updated by `expression` through UpdateItem (its name and value checks, its validator, its executor),
    without the key."""
    table.put_item(TableName="expressions", Item={"PK": {"S": "k"}, **ITEMS[0]})
    names = {name: attribute for name, attribute in UPDATE_NAMES.items() if name in expression}
    values = {name: value for name, value in UPDATE_VALUES.items() if name in expression}
    attributes = table.update_item(TableName="expressions", Key={"PK": {"S": "k"}}, UpdateExpression=expression,
                                   ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                                   ReturnValues="ALL_NEW")["Attributes"]
    return {name: value for name, value in attributes.items() if name != "PK"}


@pytest.mark.parametrize("expression", list(UPDATES))
def test_a_remembered_update_expression_is_moto_s_tree_and_applying_it_changes_nothing_in_it(table, expression: str
                                                                                           ) -> None:
    moto_make = UpdateExpressionParser.make.__wrapped__  # type: ignore[attr-defined]
    first = UpdateExpressionParser.make(expression)
    assert UpdateExpressionParser.make(expression) is first is moto_expressions._parsed[expression]
    assert _shape(first) == _shape(moto_make(UpdateExpressionParser, expression))
    before = _shape(first)
    assert _applied(table, expression) == _applied(table, expression) == UPDATES[expression]
    assert _shape(first) == before


def test_an_update_expression_moto_refuses_is_refused_every_time_and_not_remembered() -> None:
    for _ in range(2):
        with pytest.raises(Exception, match="Invalid UpdateExpression"):
            UpdateExpressionParser.make("SET #a = = :b")
    assert "SET #a = = :b" not in moto_expressions._parsed

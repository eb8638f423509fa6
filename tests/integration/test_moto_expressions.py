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


def _validated(expression: str, walk) -> object:
    """The tree moto's update validator makes of `expression` for ITEMS[0], each step walked by `walk`; or the
    error it raises."""
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    table = Table("t", account_id="123456789012", region="us-east-1",
                  schema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                  attr=[{"AttributeName": "PK", "AttributeType": "S"}])
    item = Item(hash_key=None, range_key=None, attrs={"PK": {"S": "k"}, **ITEMS[0]})
    moto_walk = DepthFirstTraverser.traverse
    DepthFirstTraverser.traverse = walk
    try:
        return _shape(UpdateExpressionValidator(UpdateExpressionParser.make(expression), UPDATE_NAMES, UPDATE_VALUES,
                                                item, table).validate())
    except Exception as error:  # the validator's refusal, compared by its kind and message
        return {"refused": type(error), "message": str(error)}
    finally:
        DepthFirstTraverser.traverse = moto_walk


REFUSED_UPDATES = ["SET #k = :v, #k = :n", "SET PK = :h", "SET #d = #missing + :v", "SET #k = :v REMOVE #k",
                   "SET #k = :zz"]


@pytest.mark.parametrize("expression", [*UPDATES, *REFUSED_UPDATES])
def test_the_validator_s_walk_makes_moto_s_tree_and_refuses_what_moto_refuses(expression: str) -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    def moto_walk(self, node):
        return DepthFirstTraverser.traverse_node_recursively(self, node)

    ours = _validated(expression, DepthFirstTraverser.traverse)
    assert ours == _validated(expression, moto_walk)
    assert (expression in REFUSED_UPDATES) == isinstance(ours, dict)


@pytest.mark.parametrize("expression", list(UPDATES))
def test_a_tree_is_copied_node_by_node_as_deepcopy_copies_it(expression: str) -> None:
    import copy

    tree = UpdateExpressionParser.make(expression)
    copied = moto_expressions._copied(tree)
    assert _shape(copied) == _shape(copy.deepcopy(tree))

    def nodes(node: Node) -> list[Node]:
        return [node, *(inner for child in node.children or [] if isinstance(child, Node) for inner in nodes(child))]

    originals, copies = nodes(tree), nodes(copied)
    assert not {id(node) for node in originals} & {id(node) for node in copies}
    assert copied.parent is None
    assert all(child.parent is node for node in copies for child in node.children or [] if isinstance(child, Node))


def test_a_tree_holding_anything_else_is_deep_copied() -> None:
    tree = UpdateExpressionParser.make("SET #d = :v")
    tree.children[0].extra = ["a list"]  # a node with an attribute of its own
    copied = moto_expressions._copied(tree)
    assert copied.children[0].extra == ["a list"] and copied.children[0].extra is not tree.children[0].extra
    assert moto_expressions._copied({"a": [1]}) == {"a": [1]}

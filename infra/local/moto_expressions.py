"""Expressions read once per text: moto lexes a condition expression, and parses an update expression twice (once
to check its names, once to apply it), on every request; its update validator looks up what to do with a node
twice per node, and starts from a deep copy of the tree.

In a 200-member reconnect storm (tests/perf/reconnect_storm.py) lexing condition expressions took 12 % of local
AWS's one interpreter (py-spy, GIL samples); in the default `make load`, parsing update expressions took 5 % of it.
The app sends a handful of distinct texts (their values differ, the texts do not), and both readers read nothing
but the text:

- the condition lexer's nodes are immutable (named tuples whose empty child lists moto never changes: every later
  step builds new nodes), so each parse gets a new deque of the same nodes;
- an update expression's tree is only read where moto parses it (the names and values it uses) and copied before
  anything changes it (moto's `UpdateExpressionValidator` works on a deep copy), so one tree serves every request;
- the validator walks the tree once for each of its ten steps, and moto's walk builds the step's map of node types
  to work (`_processing_map`, a new dict of the same bound methods each time) twice for every node it visits: 14 %
  of the in-process tests' time (py-spy, tests/api/test_friends.py), with an `isinstance` against each of moto's
  node classes (ABCs, slow to check). Here the map is read once per walk and each type of node matched once per
  walk; the walk is otherwise moto's own, node for node (children first, each child announced to the step, the
  first matching type's work replacing the node in its parent). That module went from 18.1 s to 15.5 s;
- each request's validator starts from a deep copy of the tree (4 % of the tests' time, 8 % of local AWS's in a
  reconnect storm): a tree of plain nodes (each holding its type's name, its children and its parent; leaves of
  strings and numbers) is copied node by node here, anything else still by `copy.deepcopy`.
"""
from __future__ import annotations

import copy
import functools
from collections import deque
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

MAX_TEXTS = 1024  # distinct texts remembered per kind; any beyond are read on each request, as before

_lexed: dict[str, tuple[Any, ...]] = {}
_parsed: dict[str, Any] = {}


def read_each_expression_once() -> None:
    _lex_conditions_once()
    _parse_updates_once()
    _walk_with_one_map()
    validators.deepcopy = _copied  # type: ignore[attr-defined]


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


def _walk_with_one_map() -> None:
    def traverse(self: DepthFirstTraverser, node: Any) -> Any:
        announce = None if type(self).pre_processing_of_child is DepthFirstTraverser.pre_processing_of_child \
            else self.pre_processing_of_child
        return _walk(node, -1, _Work(self._processing_map()), announce)

    DepthFirstTraverser.traverse = traverse  # type: ignore[method-assign]


class _Work(dict[type, Any]):
    """One walk's work for each type of node it meets: that of the first type in the step's map the node is an
    instance of (moto's `process`), None for none. moto's nodes are ABCs, whose `isinstance` is slow: each type is
    matched once per walk."""

    def __init__(self, processing_map: dict[type, Any]) -> None:
        super().__init__()
        self._map = tuple(processing_map.items())

    def __missing__(self, kind: type) -> Any:
        self[kind] = next((work for step_kind, work in self._map if _subclass[kind, step_kind]), None)
        return self[kind]


class _Subclass(dict[tuple[type, type], bool]):
    """`issubclass`, remembered: moto's node classes are ABCs, whose check is slow."""

    def __missing__(self, pair: tuple[type, type]) -> bool:
        self[pair] = issubclass(*pair)
        return self[pair]


_subclass = _Subclass()


def _walk(node: Any, child_id: int, work: _Work, announce: Any) -> Any:
    """moto's `traverse_node_recursively`, node for node."""
    if not _subclass[type(node), Node]:
        return node
    parent = node.parent
    if node.children is not None:
        for index, child in enumerate(node.children):
            if announce is not None:
                announce(node, index)
            _walk(child, index, work, announce)
    process = work[type(node)]
    if process is not None:
        node = process(node)
        node.parent = parent
        if parent:
            parent.children[child_id] = node
    return node


PLAIN_LEAVES = (str, int, float, bool, type(None))


class _NotPlain(Exception):
    """The tree holds something other than plain nodes and leaves: `copy.deepcopy` copies it."""


def _copied(value: Any, memo: dict[int, Any] | None = None) -> Any:
    if memo is None and isinstance(value, Node) and value.parent is None:
        try:
            return _copied_node(value, None)
        except _NotPlain:
            pass
    return copy.deepcopy(value, memo)


def _copied_node(node: Node, parent: Node | None) -> Node:
    state = node.__dict__
    if state.keys() != {"type", "children", "parent"} or not isinstance(state["type"], str):
        raise _NotPlain
    copied = object.__new__(type(node))
    children = state["children"]
    if children is not None:
        if type(children) is not list:
            raise _NotPlain
        children = [_copied_child(child, node, copied) for child in children]
    copied.__dict__.update(type=state["type"], children=children, parent=parent)
    return copied


def _copied_child(child: Any, parent: Node, copied_parent: Node) -> Any:
    if type(child) in PLAIN_LEAVES:
        return child
    if not _subclass[type(child), Node] or child.parent is not parent:
        raise _NotPlain
    return _copied_node(child, copied_parent)

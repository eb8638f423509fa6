"""DynamoDB attribute values serialised by one tight function instead of moto's generic shape walker.

moto 5.2.5 serialises every response by walking the operation's output shape: for each member of each structure it
builds a context object and asks a value picker for several spellings of the member's name. An `AttributeValue`
has ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL), so every attribute of every item costs ten such lookups:
a Query of 20 small items took 32 ms of the server's CPU, and the local stack spent about a third of local AWS's
time there. Here an `AttributeValue` (in DynamoDB's and DynamoDB Streams' answers alike) is written as moto's walker
would write it: the members it names, in the shape's order, strings as `str`, binary values base64-encoded, maps and
lists recursively; everything else in the answer still goes through moto's serializer.
tests/integration/test_moto_serializer.py compares the two on randomised attribute values of every type.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from botocore.model import StructureShape
from moto.core.serialize import BaseJSONSerializer

ATTRIBUTE_VALUE = "AttributeValue"
_STRINGS = ("S", "N")
_STRING_SETS = ("SS", "NS")
_local = threading.local()


def serialize_attribute_values_directly() -> None:
    """Changes moto's JSON serializer for the whole process, once (infra/local/moto_patches.py)."""
    BaseJSONSerializer._serialize_type_structure = _direct(  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure)


@contextlib.contextmanager
def moto_serializer() -> Iterator[None]:
    """moto's own walker in this thread, to compare answers with."""
    _local.off = True
    try:
        yield
    finally:
        _local.off = False


def _direct(walk: Callable[..., None]) -> Callable[..., None]:
    def serialize_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: StructureShape,
                            key: str) -> None:
        if shape.name != ATTRIBUTE_VALUE or not isinstance(value, dict) or getattr(_local, "off", False):
            walk(self, serialized, value, shape, key)
            return
        try:
            written = _attribute_value(self, value, shape)
        except _Unusual:
            walk(self, serialized, value, shape, key)
            return
        if key:
            serialized[self.get_serialized_name(shape, key)] = written
        else:
            serialized.update(written)

    return serialize_structure


class _Unusual(Exception):
    """A value moto's own DynamoType never produces: left to moto's walker."""


def _attribute_value(serializer: BaseJSONSerializer, value: dict[str, Any], shape: StructureShape) -> dict[str, Any]:
    written: dict[str, Any] = {}
    for member in shape.members:  # the shape's order, as moto's walker writes them
        item = value.get(member)
        if item is None:
            continue
        if member in _STRINGS:
            written[member] = _string(item)
        elif member == "B":
            written[member] = serializer._base64(item)
        elif member in _STRING_SETS:
            written[member] = [_string(element) for element in item]
        elif member == "BS":
            written[member] = [serializer._base64(element) for element in item]
        elif member == "M":
            written[member] = {name: _attribute_value(serializer, _plain(element), shape)
                               for name, element in item.items() if element is not None}
        elif member == "L":
            written[member] = [None if element is None else _attribute_value(serializer, _plain(element), shape)
                               for element in item]
        else:  # NULL, BOOL
            written[member] = item
    return written


def _plain(element: Any) -> dict[str, Any]:
    if not isinstance(element, dict):
        raise _Unusual
    return element


def _string(value: Any) -> Any:
    return str(value) if value not in (None, {}, []) else value

"""The unit meter's size and rounding rules (tests/support/capacity.py), case by case from DynamoDB's guide."""
from __future__ import annotations

import pytest

from tests.support.capacity import item_size, read_units, value_size, write_units


@pytest.mark.parametrize(("value", "size"), [
    ({"S": "abc"}, 3), ({"S": "é"}, 2), ({"S": "😀"}, 4),
    ({"N": "7"}, 2), ({"N": "1234"}, 3), ({"N": "-12345"}, 4), ({"N": "1000"}, 2), ({"N": "0.0012"}, 2),
    ({"BOOL": True}, 1), ({"NULL": True}, 1),
    ({"SS": ["ab", "c"]}, 3), ({"NS": ["1", "22"]}, 4),
    ({"L": []}, 3), ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (2 + 1) + (2 + 1)),
    ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
])
def test_value_sizes(value, size):
    assert value_size(value) == size


def test_an_item_counts_its_attribute_names():
    assert item_size({"PK": {"S": "USER#1"}, "n": {"N": "12"}}) == 2 + 6 + 1 + 2
    assert item_size(None) == 0


def test_rounding():
    assert [write_units(size) for size in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert [read_units(size, True) for size in (0, 4096, 4097)] == [1, 1, 2]
    assert [read_units(size, False) for size in (0, 4096, 4097)] == [0.5, 0.5, 1]

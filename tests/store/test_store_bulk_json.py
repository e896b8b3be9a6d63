"""A JSON column's text (`bulk.json_text`) is the one orjson writes with the store's options
(`default=str`, non-`str` keys), though it tries without them first: the same text for every
value, and the same error for a value neither can encode."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from marketops.store.bulk import json_text


class Colour(enum.Enum):
    RED = 1


class Key(str):
    pass


VALUES = [
    None,
    {},
    [],
    "é",
    (1, 2),
    {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "e"}},
    {1: "int key"},
    {None: "None key"},
    {Key("k"): "str subclass key"},
    {"d": Decimal("1.50")},
    {"t": datetime(2026, 1, 1, 9, 30, tzinfo=UTC), "day": date(2026, 1, 1)},
    {"s": {1, 2}},
    {"u": uuid.UUID(int=5)},
    {"e": Colour.RED},
    {"n": float("nan")},
    {"x": b"bytes"},
]


def _with_options(v: object) -> str:
    return orjson.dumps(v, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_text_as_with_the_options(value: object) -> None:
    assert json_text(value) == _with_options(value)


@pytest.mark.parametrize("value", [{("a", 1): 2}, {"big": 2**70}], ids=repr)
def test_what_neither_encodes_raises_the_same(value: object) -> None:
    with pytest.raises(TypeError) as want:
        _with_options(value)
    with pytest.raises(TypeError) as got:
        json_text(value)
    assert str(got.value) == str(want.value)

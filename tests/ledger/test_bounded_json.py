"""Bounded JSON parsing: deep nesting is refused before the recursive parser sees it."""

from __future__ import annotations

import json

import py_ecc  # noqa: F401  (imported for its side effect: it raises the recursion limit to 100,000)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.bounded_json import JsonTooDeep, loads, nesting_depth

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


def test_ninety_nine_thousand_open_brackets_are_refused_not_crashed() -> None:
    with pytest.raises(JsonTooDeep) as excinfo:
        loads(b"[" * 99_000)

    assert excinfo.value.limit == 64 and excinfo.value.depth == 65


def test_brackets_inside_strings_do_not_count() -> None:
    document = json.dumps({"a": "[[[[[[[[" * 100, "b": ['\\"[', "]]]"]})

    assert nesting_depth(document) == 2 and loads(document, max_depth=2)["b"] == ['\\"[', "]]]"]


def test_depth_at_the_bound_parses_and_one_more_is_refused() -> None:
    assert loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    with pytest.raises(JsonTooDeep):
        loads("[" * 65 + "]" * 65)


def test_malformed_json_is_still_a_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(b'{"a": ')


@given(JSON_VALUES)
def test_round_trips_any_shallow_document(value: object) -> None:
    text = json.dumps(value)

    assert loads(text) == value and loads(text.encode()) == value

"""How an event's decoded arguments are stored: compact JSON text, read back with every integer exact."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson


def args_json(args: Mapping[str, Any]) -> str:
    """The stored text of an event's arguments (compact JSON; orjson unless an integer passes 64 bits)."""
    try:
        return orjson.dumps(args).decode()
    except TypeError:  # token amounts often pass 2**64: the standard encoder takes any integer
        return json.dumps(args, separators=(",", ":"))


def args_from_json(text: str | bytes) -> dict[str, Any]:
    """An event's stored arguments (`args_json`'s text) back as a dict, every integer exact.

    orjson parses ~4x faster than the standard library but reads an integer past 64 bits as a
    float; event arguments hold no floats (ABI values are integers, strings, booleans and lists of
    them), so any float found means such an integer, and the standard parser reads the text again.
    """
    args: dict[str, Any] = orjson.loads(text)
    return args if _exact(args.values()) else dict(json.loads(text))


def _exact(values: Iterable[Any]) -> bool:
    """No float among `values` or in the lists among them (types gathered in C, one level without recursion:
    this runs per event read)."""
    values = list(values)
    kinds = set(map(type, values))
    if float in kinds:
        return False
    if list not in kinds:
        return True
    for value in values:
        if type(value) is list:
            inner = set(map(type, value))
            if float in inner or (list in inner and not _exact(value)):
                return False
    return True

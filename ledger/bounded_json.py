"""JSON parsing with a nesting bound checked before the parser runs.

py_ecc raises Python's recursion limit to 100,000 when it is imported, so `json.loads` of a
few hundred KB of `[` recurses until the C stack overflows and the process dies with SIGSEGV.
Every server that parses untrusted JSON (the chain node's JSON-RPC, the gateway) parses
through `loads` here: the depth is measured by a linear scan that never recurses.
"""

from __future__ import annotations

import json
from typing import Any

#: Deep enough for any JSON-RPC request or gateway body we define (they nest < 10 levels).
DEFAULT_MAX_DEPTH = 64

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


class JsonTooDeep(ValueError):
    """The document nests arrays/objects deeper than the allowed bound."""

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels (reached {depth})")
        self.depth, self.limit = depth, limit


def nesting_depth(data: bytes | str, stop_after: int | None = None) -> int:
    """The deepest array/object nesting in `data`, brackets inside strings ignored.

    Stops early and returns as soon as the depth exceeds `stop_after`, if given.
    """
    raw = data.encode() if isinstance(data, str) else data
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_after is not None and deepest > stop_after:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def loads(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """`json.loads(data)`, refusing documents nested deeper than `max_depth` before parsing.

    Raises `JsonTooDeep` (a `ValueError`) for too deep a document and `json.JSONDecodeError`
    (also a `ValueError`) for malformed JSON.
    """
    depth = nesting_depth(data, stop_after=max_depth)
    if depth > max_depth:
        raise JsonTooDeep(depth, max_depth)
    return json.loads(data)

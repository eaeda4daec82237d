"""Decoding raw logs of known contracts into event names, named arguments and audit links.

Links are what the audit queries look up: an argument named `<thing>Id` links the event to
that thing (`jobId` → ('job', '7')), `<thing>Ids` arrays link to each element, and every
address argument and the transaction's sender link to that member.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address

from ledger.errors import IndexerError


@dataclass(frozen=True)
class EventSpec:
    """One event of one contract: its name and how to decode its topics and data."""

    contract: str
    name: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, canonical type, indexed)

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """Named, JSON-ready arguments of a log with these `topics` and `data`."""
        plan = self.plan
        if len(topics) != plan.topics + 1:
            raise IndexerError(f"{self.contract}.{self.name}: {len(topics)} topics, expected {plan.topics + 1}")
        if plan.fast and len(data) == plan.data_words * 32:
            args = _fast(plan, topics, data)
            if args is not None:
                return args
        return _general(self.inputs, topics, data)

    @functools.cached_property
    def plan(self) -> _Plan:
        """How to decode this event (built once per spec: `decode` runs once per indexed log)."""
        return _plan(self.inputs)

    @functools.cached_property
    def link_plan(self) -> tuple[tuple[str, str, str], ...]:
        """(argument, how, kind) for each argument that links the event: see `links_of`."""
        plan = []
        for name, kind, _ in self.inputs:
            if kind == "address":
                plan.append((name, "address", "member"))
            elif kind == "address[]":
                plan.append((name, "addresses", "member"))
            elif name.endswith("Id") and kind.startswith("uint") and not kind.endswith("]"):
                plan.append((name, "id", name[:-2].lower()))
            elif name.endswith("Ids") and kind.startswith("uint") and kind.endswith("[]"):
                plan.append((name, "ids", name[:-3].lower()))
        return tuple(plan)


@dataclass(frozen=True)
class _Plan:
    """How to decode one event: per input (name, word reader or None, indexed), and its shape."""

    readers: tuple[tuple[str, Callable[[bytes], Any] | None, bool], ...]
    topics: int
    data_words: int
    fast: bool  # every input is one 32-byte word (in a topic or in data)


@functools.cache
def _plan(inputs: tuple[tuple[str, str, bool], ...]) -> _Plan:
    readers = tuple(
        (name, _reader(kind) if _is_static(kind) or indexed else None, indexed) for name, kind, indexed in inputs
    )
    fast = all(r is not None for _, r, _ in readers)
    return _Plan(readers, sum(1 for _, _, i in inputs if i), sum(1 for _, _, i in inputs if not i), fast)


def _fast(plan: _Plan, topics: Sequence[bytes], data: bytes) -> dict[str, Any] | None:
    args: dict[str, Any] = {}
    topic, word = 1, 0
    for name, reader, indexed in plan.readers:
        if indexed:
            value = reader(topics[topic])  # type: ignore[misc]  # fast plans hold a reader for every input (see _Plan.fast)
            topic += 1
        else:
            value = reader(data[word : word + 32])  # type: ignore[misc]  # as above
            word += 32
        if value is _NO:
            return None
        args[name] = value
    return args


def _general(inputs: tuple[tuple[str, str, bool], ...], topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """eth_abi's decoding, for events with dynamic arguments (and any word the fast path refuses)."""
    indexed = [(n, t) for n, t, i in inputs if i]
    plain = [(n, t) for n, t, i in inputs if not i]
    args: dict[str, Any] = {}
    for (name, kind), topic in zip(indexed, topics[1:]):
        # Indexed dynamic values are stored as their keccak hash: keep the hash.
        args[name] = _json(kind, decode([kind], topic)[0]) if _is_static(kind) else "0x" + topic.hex()
    for (name, kind), value in zip(plain, decode([t for _, t in plain], data)):
        args[name] = _json(kind, value)
    return {n: args[n] for n, _, _ in inputs}


_NO = object()  # a word the fast path will not vouch for: eth_abi decides (and raises if it is malformed)
_CHECKSUMS: dict[bytes, str] = {}


def _reader(kind: str) -> Callable[[bytes], Any] | None:
    """A strict one-word decoder (same padding rules as eth_abi) for a static type, or None."""
    if not _is_static(kind):
        return lambda word: "0x" + word.hex()  # an indexed dynamic value: its keccak hash
    if kind.startswith("uint"):
        limit = 1 << int(kind[4:] or 256)
        return lambda word: value if (value := int.from_bytes(word, "big")) < limit else _NO
    if kind == "address":
        return _address
    if kind == "bool":
        return lambda word: _NO if word[:31] != bytes(31) or word[31] > 1 else word[31] == 1
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])
        pad = bytes(32 - size)
        return lambda word: "0x" + word[:size].hex() if word[size:] == pad else _NO
    return None


def _address(word: bytes) -> Any:
    if word[:12] != bytes(12):
        return _NO
    raw = word[12:]
    found = _CHECKSUMS.get(raw)
    if found is None:
        if len(_CHECKSUMS) > 100_000:
            _CHECKSUMS.clear()
        found = _CHECKSUMS[raw] = to_checksum_address(raw)
    return found


def _is_static(kind: str) -> bool:
    return not (kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("))


def _json(kind: str, value: Any) -> Any:
    if kind.endswith("]"):
        return [_json(kind[: kind.rindex("[")], v) for v in value]
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return list(value)
    return value


def event_specs(contract: str, abi: Sequence[Mapping[str, Any]]) -> dict[bytes, EventSpec]:
    """topic0 → EventSpec for every non-anonymous event in `abi`."""
    specs = {}
    for item in abi:
        if item.get("type") != "event" or item.get("anonymous"):
            continue
        inputs = tuple((p["name"], p["type"], bool(p.get("indexed"))) for p in item["inputs"])
        specs[event_abi_to_log_topic(dict(item))] = EventSpec(contract, item["name"], inputs)  # type: ignore[arg-type]  # eth-utils wants its ABIEvent TypedDict; this is the artifact's event entry
    return specs


def links_of(args: Mapping[str, Any], actor: str, spec: EventSpec) -> tuple[tuple[str, str], ...]:
    """The (kind, key) pairs this event belongs to (job, source, proposal, member, ...)."""
    found: dict[tuple[str, str], None] = {("member", actor.lower()): None}
    for name, how, kind in spec.link_plan:
        value = args[name]
        if how == "address":
            found[(kind, value.lower())] = None
        elif how == "id":
            found[(kind, str(value))] = None
        elif how == "addresses":
            found.update({(kind, v.lower()): None for v in value})
        else:
            found.update({(kind, str(v)): None for v in value})
    return tuple(found)

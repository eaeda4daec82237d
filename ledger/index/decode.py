"""Decoding raw logs of known contracts into event names, named arguments and audit links.

Links are what the audit queries look up: an argument named `<thing>Id` links the event to
that thing (`jobId` → ('job', '7')), `<thing>Ids` arrays link to each element, and every
address argument and the transaction's sender link to that member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        indexed = [(n, t) for n, t, i in self.inputs if i]
        plain = [(n, t) for n, t, i in self.inputs if not i]
        if len(topics) != len(indexed) + 1:
            raise IndexerError(f"{self.contract}.{self.name}: {len(topics)} topics, expected {len(indexed) + 1}")
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(indexed, topics[1:]):
            # Indexed dynamic values are stored as their keccak hash: keep the hash.
            args[name] = _json(kind, decode([kind], topic)[0]) if _is_static(kind) else "0x" + topic.hex()
        for (name, kind), value in zip(plain, decode([t for _, t in plain], data)):
            args[name] = _json(kind, value)
        return {n: args[n] for n, _, _ in self.inputs}


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
    for name, kind, _ in spec.inputs:
        value = args[name]
        if kind == "address":
            found[("member", value.lower())] = None
        elif kind == "address[]":
            found.update({("member", v.lower()): None for v in value})
        elif name.endswith("Id") and kind.startswith("uint") and not kind.endswith("]"):
            found[(name[:-2].lower(), str(value))] = None
        elif name.endswith("Ids") and kind.startswith("uint") and kind.endswith("[]"):
            found.update({(name[:-3].lower(), str(v)): None for v in value})
    return tuple(found)

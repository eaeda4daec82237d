"""Builds an event index from the contracts' real events (ABIs from ledger/abi).

Events are ABI-encoded into real topics and data, then decoded and linked by the indexer's
own code (`ledger.index.decode`), so the index holds exactly what indexing real logs would.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_utils import keccak

from ledger.artifacts import load
from ledger.audit.chainview import ChainView
from ledger.audit.queries import AuditQueries
from ledger.audit.verify import Verifier
from ledger.index.decode import event_specs, links_of
from ledger.index.store import EventStore, IndexedEvent, Position

CONTRACTS = ("Consortium", "CustosToken", "DataRegistry", "JobLedger", "Settlement", "AuditAnchor")
ABIS = {name: load(name).abi for name in CONTRACTS}
SPECS = {spec.name: (topic, spec) for c, abi in ABIS.items() for topic, spec in event_specs(c, abi).items()}
# The per-job terms every JobOpened records (fee and windows fixed at opening).
TERMS = {"feeBps": 500, "challengeWindow": 3600, "attestationWindow": 86_400, "resolutionWindow": 1_209_600}
ADDRESSES = {name: "0x" + f"{i + 1:02x}" * 20 for i, name in enumerate(CONTRACTS)}


def make_event(name: str, actor: str, block: int, log_index: int, time: int, /, **values: Any) -> IndexedEvent:
    """One event as the indexer would store it, at `block`/`log_index`."""
    topic0, spec = SPECS[name]
    topics = [topic0] + [encode([t], [values[n]]) for n, t, indexed in spec.inputs if indexed]
    data = encode([t for _, t, i in spec.inputs if not i], [values[n] for n, _, i in spec.inputs if not i])
    args = spec.decode(topics, data)
    block_hash = keccak(block.to_bytes(8, "big"))
    return IndexedEvent(
        block,
        log_index,
        0,
        keccak(block_hash + log_index.to_bytes(4, "big")),
        block_hash,
        time,
        ADDRESSES[spec.contract],
        spec.contract,
        name,
        actor,
        args,
        tuple(topics),
        data,
        links_of(args, actor, spec),
    )


class IndexBuilder:
    """Appends events to a store, one block per `block()` call."""

    def __init__(self, store: EventStore, start_time: int = 1_700_000_000) -> None:
        self.store, self.number, self.time = store, 0, start_time
        self.pending: list[tuple[str, str, dict[str, Any]]] = []

    def emit(self, name: str, actor: str, /, **values: Any) -> None:
        """Queue an event for the next block (positional-only: MemberAdded has an argument `name`)."""
        self.pending.append((name, actor, values))

    def block(self, seconds: int = 12) -> None:
        """Write the queued events as one block."""
        self.number += 1
        self.time += seconds
        events = [make_event(n, a, self.number, i, self.time, **v) for i, (n, a, v) in enumerate(self.pending)]
        self.pending = []
        tip = keccak(self.number.to_bytes(8, "big"))
        self.store.append(events, [(self.number, tip, self.time)], Position(self.number + 1, self.number, tip))


def node_verifier(w3: Any, store: EventStore, abis: dict[str, Any], addresses: dict[str, str]) -> Verifier:
    """A verifier of `store` against the node `w3` alone (no pinned genesis: the node's own is used)."""
    chain_id = int(w3.eth.chain_id)
    return Verifier(lambda: ChainView([w3], chain_id, None), AuditQueries(store), abis, addresses)

"""Builds an event index from protocol events (names and fields of docs/protocol.md's contracts).

Events are ABI-encoded into real topics and data, then decoded and linked by the indexer's
own code (`ledger.index.decode`), so the index holds exactly what indexing real logs would.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_utils import event_abi_to_log_topic, keccak

from ledger.index.decode import event_specs, links_of
from ledger.index.store import EventStore, IndexedEvent, Position

EVENTS = {
    "DataSourceRegistered": ("DataRegistry", "uint256 indexed sourceId, address indexed owner, bytes32 schemaHash, "
                             "bytes32 commitment, uint64 rowCount, string metadataURI, uint256 pricePerUse, "
                             "uint256 allowedKinds, bool openToAllRequesters, uint256 autoConsentKinds"),
    "CommitmentUpdated": ("DataRegistry", "uint256 indexed sourceId, uint64 version, bytes32 commitment, "
                          "uint64 rowCount"),
    "JobOpened": ("JobLedger", "uint256 indexed jobId, address indexed requester, uint8 kind, uint256[] sourceIds, "
                  "uint64[] versions, bytes32 paramsHash, bytes32 inputsHash, address[] computeParties, "
                  "uint256 budget, uint64 deadline"),
    "ConsentGiven": ("JobLedger", "uint256 indexed jobId, uint256 indexed sourceId, address indexed owner, "
                     "bool automatic"),
    "JobReady": ("JobLedger", "uint256 indexed jobId"),
    "ResultCommitted": ("JobLedger", "uint256 indexed jobId, address indexed committer, bytes32 resultHash, "
                        "bytes32 transcriptRoot, bytes32 contributionHash, uint256[] weights, "
                        "bytes32 utilityTableHash"),
    "AttestationRecorded": ("JobLedger", "uint256 indexed jobId, address indexed signer, address submitter"),
    "JobFinalized": ("JobLedger", "uint256 indexed jobId, uint256 escrow"),
    "JobAborted": ("JobLedger", "uint256 indexed jobId, address indexed by, bytes32 reason"),
    "EscrowReleased": ("Settlement", "uint256 indexed jobId, uint256 amount, uint256 feeBps"),
    "PaymentCredited": ("Settlement", "uint256 indexed jobId, address indexed payee, uint256 amount"),
    "PaymentWithdrawn": ("Settlement", "address indexed payee, uint256 amount"),
}


def _abi(name: str, fields: str) -> dict[str, Any]:
    inputs = []
    for field in fields.split(", "):
        parts = field.split()
        inputs.append({"type": parts[0], "name": parts[-1], "indexed": parts[1] == "indexed"})
    return {"type": "event", "name": name, "anonymous": False, "inputs": inputs}


ABIS: dict[str, list[dict[str, Any]]] = {}
for _name, (_contract, _fields) in EVENTS.items():
    ABIS.setdefault(_contract, []).append(_abi(_name, _fields))
SPECS = {spec.name: (topic, spec) for c, abi in ABIS.items() for topic, spec in event_specs(c, abi).items()}
ADDRESSES = {"DataRegistry": "0x" + "11" * 20, "JobLedger": "0x" + "22" * 20, "Settlement": "0x" + "33" * 20}


def make_event(name: str, actor: str, block: int, log_index: int, time: int, **values: Any) -> IndexedEvent:
    """One event as the indexer would store it, at `block`/`log_index`."""
    topic0, spec = SPECS[name]
    topics = [topic0] + [encode([t], [values[n]]) for n, t, indexed in spec.inputs if indexed]
    data = encode([t for _, t, i in spec.inputs if not i], [values[n] for n, _, i in spec.inputs if not i])
    args = spec.decode(topics, data)
    block_hash = keccak(block.to_bytes(8, "big"))
    return IndexedEvent(block, log_index, 0, keccak(block_hash + log_index.to_bytes(4, "big")), block_hash, time,
                        ADDRESSES[spec.contract], spec.contract, name, actor, args, tuple(topics), data,
                        links_of(args, actor, spec))


class IndexBuilder:
    """Appends events to a store, one block per `block()` call."""

    def __init__(self, store: EventStore, start_time: int = 1_700_000_000) -> None:
        self.store, self.number, self.time = store, 0, start_time
        self.pending: list[tuple[str, str, dict[str, Any]]] = []

    def emit(self, name: str, actor: str, **values: Any) -> None:
        """Queue an event for the next block."""
        self.pending.append((name, actor, values))

    def block(self, seconds: int = 12) -> None:
        """Write the queued events as one block."""
        self.number += 1
        self.time += seconds
        events = [make_event(n, a, self.number, i, self.time, **v) for i, (n, a, v) in enumerate(self.pending)]
        self.pending = []
        tip = keccak(self.number.to_bytes(8, "big"))
        self.store.append(events, [(self.number, tip, self.time)], Position(self.number + 1, self.number, tip))

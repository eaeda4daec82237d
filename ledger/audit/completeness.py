"""Completeness: the index holds exactly the chain's events of a job, a source or a member.

Checking the rows an index shows cannot reveal the rows it hides. So for each trail the
verifier asks the node(s) for the logs that belong to it by topic (`eth_getLogs` over the
whole indexed range; every job event carries `jobId` as its first indexed argument, every
source event `sourceId`), decodes them with the same ABI table as the indexer, and
compares positions: a chain event missing from the index, and an indexed event the
chain does not have under that key ("foreign"), each fail and are named. The queries are
table-driven from the ABIs: a new event with an indexed `jobId` is covered without a change.

The scan is bounded by what the chain itself fixes: a job's events lie between its JobOpened
and the transaction that moved it to a final status (JobLedger emits the settlement of every
final transition in that same transaction, and refuses any later call naming the job); a
source's begin at its registration. Both bounds come from events that are themselves checked
against their receipts in the same verification, so an index cannot narrow the scan with a
forged or moved event without failing; only events naming the key in their own arguments
count, so a foreign event linked in cannot narrow it either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from ledger.audit.report import FAILED, PASSED, Check
from ledger.audit.trails import status_after
from ledger.index.decode import EventSpec
from ledger.index.store import IndexedEvent


@dataclass(frozen=True)
class KeyedQuery:
    """Events of `contracts` whose indexed argument `argument` equals `value` (one topic position each)."""

    argument: str
    value: int | str
    contracts: tuple[str, ...]

    def named_by(self, event: IndexedEvent) -> bool:
        """The event's own (log-verified) arguments name the key: `argument`, or an array `argument`+s."""
        value = self.value.lower() if isinstance(self.value, str) else self.value

        def same(v: object) -> bool:
            return (v.lower() if isinstance(v, str) else v) == value

        return same(event.args.get(self.argument)) or any(same(v) for v in event.args.get(self.argument + "s") or ())

    def topic(self) -> str:
        """The 32-byte topic of the value (uint256 or address)."""
        if isinstance(self.value, int):
            return "0x" + self.value.to_bytes(32, "big").hex()
        return "0x" + "00" * 12 + self.value.lower().removeprefix("0x")


# Job statuses no transaction leaves (see the module docstring).
FINAL_STATUSES = frozenset({"Finalized", "Refunded", "Cancelled", "Aborted"})


def job_blocks(job_id: int, events: Iterable[IndexedEvent]) -> tuple[int, int | None]:
    """(first, last) block that can hold job `job_id`'s events; last is None (the head) while it is not final."""
    own = [e for e in events if e.args.get("jobId") == job_id]
    first = next((e.block_number for e in own if e.event == "JobOpened"), 0)
    status = "Open"
    for event in own:
        status = status_after(event, status)
        if status in FINAL_STATUSES:
            return first, event.block_number
    return first, None


def source_blocks(source_id: int, events: Iterable[IndexedEvent]) -> tuple[int, None]:
    """(first, None): source `source_id`'s events begin at its registration and run to the head."""
    registered = (e for e in events if e.event == "DataSourceRegistered" and e.args.get("sourceId") == source_id)
    return next((e.block_number for e in registered), 0), None


@dataclass(frozen=True)
class ChainLog:
    """A log the node served for a completeness query, decoded."""

    block: int
    log_index: int
    event: str


def queries_for(query: KeyedQuery, specs: Mapping[tuple[str, bytes], EventSpec]) -> list[tuple[str, int, list[str]]]:
    """(contract, topic position, topic0s) for every event of `query.contracts` with `argument` indexed."""
    found: dict[tuple[str, int], list[str]] = {}
    for (contract, topic0), spec in specs.items():
        if contract not in query.contracts:
            continue
        indexed = [name for name, _, is_indexed in spec.inputs if is_indexed]
        if query.argument in indexed:
            position = indexed.index(query.argument) + 1
            found.setdefault((contract, position), []).append("0x" + topic0.hex())
    return [(c, p, sorted(t)) for (c, p), t in sorted(found.items())]


def compare(
    subject: str, query: KeyedQuery, indexed: Iterable[IndexedEvent], chain: Sequence[ChainLog], where: str
) -> list[Check]:
    """Missing (on chain, not indexed) and foreign events, named.

    Foreign: indexed under the key, but neither among the chain's logs for the key nor naming
    the key in its own arguments (e.g. JobOpened names its sources in `sourceIds`).
    """
    on_chain = {(log.block, log.log_index): log for log in chain}
    shown = {(e.block_number, e.log_index): e for e in indexed}
    checks = [
        Check(
            "complete",
            f"{log.event} @ {log.block}:{log.log_index}",
            FAILED,
            f"on chain for {subject}, not in the index",
        )
        for key, log in sorted(on_chain.items())
        if key not in shown
    ]
    checks += [
        Check(
            "foreign event",
            f"{e.event} @ {e.block_number}:{e.log_index}",
            FAILED,
            f"indexed under {subject}, but the chain has no such event of {subject}",
        )
        for key, e in sorted(shown.items())
        if (key not in on_chain or on_chain[key].event != e.event) and not query.named_by(e)
    ]
    if not checks:
        checks.append(Check("complete", subject, PASSED, f"{len(chain)} events, as eth_getLogs finds them {where}"))
    return checks


def decode_logs(
    logs: Iterable[Mapping[str, object]], contract_of: Mapping[Any, str], specs: Mapping[tuple[str, bytes], EventSpec]
) -> list[ChainLog]:
    """The served logs that decode as known events."""
    found = []
    for log in logs:
        contract = contract_of.get(Web3.to_checksum_address(str(log["address"])))
        topics = log["topics"]
        if contract is None or not isinstance(topics, list) or not topics:
            continue
        spec = specs.get((contract, bytes.fromhex(str(topics[0])[2:])))
        if spec is not None:
            found.append(ChainLog(int(str(log["blockNumber"]), 16), int(str(log["logIndex"]), 16), spec.name))
    return found

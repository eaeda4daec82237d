"""The job events a source's verdict relies on, checked against the chain's logs in bulk.

`audit source N --verify` judges each job that used the source by that job's events (its status,
its credits, the payout recomputed from its committed weights). Those rows are the index's, so
each must be what the chain holds: a member that edits its index's job rows would otherwise
move the source's verdict. Checking them the way `verify_job` does (every block's receipts) costs
a block read per block a job touched; here the jobs' logs are fetched instead with one
`eth_getLogs` per (contract, topic position) for a chunk of jobs (the `jobId` topic OR-ed over
the chunk's ids) over the chunk's block span, asked of every node (`ChainView.logs`: they must
agree). Each indexed job event must equal the served log at its position, byte for byte (address,
topics, data, transaction and block hash, transaction index), and its stored arguments must
decode from those bytes ("job event"); a job's log missing from the index, or an indexed event the
chain has under no such job, fails "complete" / "foreign event" as for a job.

What this does not cover, and `audit job N --verify` does: the blocks' roots and seals, the
transaction's sender and the block time of these events (no payout depends on them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hexbytes import HexBytes
from web3 import Web3

from ledger.audit.report import FAILED, PASSED, Check
from ledger.index.decode import EventSpec
from ledger.index.store import IndexedEvent

# Job ids OR-ed into one eth_getLogs topic: a few KB of request, and a span of blocks that stays short.
JOBS_PER_QUERY = 100


def log_position(log: Mapping[str, Any]) -> tuple[int, int]:
    """(block number, log index) of a served log."""
    return int(str(log["blockNumber"]), 16), int(str(log["logIndex"]), 16)


def job_of(log: Mapping[str, Any], position: int) -> int:
    """The job id a served log carries in topic `position`."""
    return int(str(log["topics"][position]), 16)


def match_logs(
    events: Sequence[IndexedEvent],
    served: Mapping[tuple[int, int], Mapping[str, Any]],
    specs: Mapping[tuple[str, bytes], EventSpec],
) -> tuple[list[Check], list[IndexedEvent]]:
    """Each event against the served log at its position: (the failed checks, the events with no log served).

    An event the query did not return (one naming the job only in an unindexed argument, or a
    foreign one, which completeness names) is handed back for the caller to check otherwise.
    """
    failed: list[Check] = []
    unserved: list[IndexedEvent] = []
    for event in events:
        log = served.get((event.block_number, event.log_index))
        if log is None:
            unserved.append(event)
            continue
        why = _difference(event, log, specs)
        if why:
            subject = f"{event.event} @ {event.block_number}:{event.log_index}"
            failed.append(Check("job event", subject, FAILED, why))
    return failed, unserved


def _difference(event: IndexedEvent, log: Mapping[str, Any], specs: Mapping[tuple[str, bytes], EventSpec]) -> str:
    """What differs between an indexed event and the chain's log at its position ("" when nothing)."""
    topics = tuple(bytes(HexBytes(t)) for t in log["topics"])
    data = bytes(HexBytes(log["data"]))
    if Web3.to_checksum_address(str(log["address"])) != Web3.to_checksum_address(event.address):
        return f"emitted by {log['address']} on chain, indexed as {event.address}"
    if topics != event.topics or data != event.data:
        return "the chain's log has other topics or data than the indexed one"
    if bytes(HexBytes(log["transactionHash"])) != event.tx_hash or int(str(log["transactionIndex"]), 16) != (
        event.tx_index
    ):
        return "the chain's log is in another transaction"
    if bytes(HexBytes(log["blockHash"])) != event.block_hash:
        return f"block {event.block_number} is not the indexed one"
    spec = specs.get((event.contract, topics[0] if topics else b""))
    if spec is None:
        return f"{event.contract} has no event with this topic"
    if spec.name != event.event:
        return f"the chain's log is a {spec.name}, indexed as {event.event}"
    args = spec.decode(topics, data)
    changed = sorted(k for k in args.keys() | event.args.keys() if args.get(k) != event.args.get(k))
    if changed:
        return f"the stored arguments differ from the log's bytes ({', '.join(changed)})"
    return ""


def passed(job_id: int, count: int) -> Check:
    """The one line for a job whose indexed events all equal the chain's logs."""
    return Check("job event", f"job {job_id}", PASSED, f"{count} event(s) equal the chain's logs")

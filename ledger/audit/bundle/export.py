"""Writing a job's evidence bundle from a verified auditor (docs/evidence-bundle.md, version 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi import decode

from ledger.artifacts import load
from ledger.audit.auditor import Auditor
from ledger.audit.bundle.format import FORMAT, TERMS_EVENTS, VERSION, bloom_may_hold, topic0, word
from ledger.audit.chainview import BlockEvidence, ChainView
from ledger.audit.evidence import PayoutUnknown, implied_credits
from ledger.audit.render import event_json
from ledger.audit.roots import trie_proof
from ledger.audit.trails import TrailFilter
from ledger.audit.trustroot import VALIDATOR_CHANGES
from ledger.audit.verify import ATTEST, tx_input
from ledger.errors import AuditError
from ledger.index.store import IndexedEvent

BUNDLED_CONTRACTS = ("Consortium", "DataRegistry", "JobLedger", "Settlement", "PrivacyBudget")


def export_job(
    auditor: Auditor,
    job_id: int,
    utility_table: Any | None = None,
    transcript_leaves: Sequence[str] | None = None,
    privacy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The bundle of job `job_id`: call right after `verify_job` passed (its view is reused).

    `privacy`: a DP job's parameters and the accountant's computation of its spend, if known."""
    view = auditor.verifier.view
    queries = auditor.queries
    events = queries.job_events(job_id)
    opened = next((e for e in events if e.event == "JobOpened"), None)
    if opened is None:
        raise AuditError(f"no job {job_id} in the index")
    if view.trust is None:
        raise AuditError("not a sealed Custos chain: a bundle needs seals to stand on")
    addresses = auditor.verifier.addresses
    sources = list(opened.args["sourceIds"])
    terms = [
        e
        for e in queries.source_events(sources, TrailFilter(kinds=TERMS_EVENTS))
        if (e.block_number, e.log_index) < (opened.block_number, opened.log_index)
    ]
    governance = _governance(view, addresses["Consortium"])
    entries = [_entry(view, e.block_number, e.log_index, e.contract, event_json(e)) for e in events]
    term_entries = [_entry(view, e.block_number, e.log_index, e.contract, event_json(e)) for e in terms]
    head = view.head()
    low = 1  # from the genesis on: every governance event that shaped the validator sets lies in range
    probes = _probes(addresses, job_id, sources)
    headers, receipts = [], {}
    for number in range(low, head + 1):
        block = view.block(number)
        headers.append({"rlp": "0x" + block.header.rlp.hex(), "seals": ["0x" + s.hex() for s in block.seals]})
        if any(bloom_may_hold(block.header.bloom, a, t) for a, t in probes):
            receipts[str(number)] = ["0x" + r.hex() for r in block.receipts]
    genesis = view.block(0).header
    return {
        "format": FORMAT,
        "version": VERSION,
        "chainId": view.chain_id,
        "genesis": {
            "rlp": "0x" + genesis.rlp.hex(),
            "validators": ["0x" + v.hex() for v in sorted(view.trust.genesis_validators)],
        },
        "contracts": {name: addresses[name] for name in BUNDLED_CONTRACTS if name in addresses},
        "abi": {
            name: [i for i in load(name).abi if i.get("type") == "event"]
            for name in BUNDLED_CONTRACTS
            if name in addresses
        },
        "job": job_id,
        "head": head,
        "firstBlock": low,
        "headers": headers,
        "receipts": receipts,
        "events": entries,
        "terms": term_entries,
        "governance": governance,
        "attestations": _attestations(view, events),
        "payout": _payout(events, queries.source_terms_at),
        "utilityTable": utility_table,
        "transcriptLeaves": list(transcript_leaves) if transcript_leaves is not None else None,
        "privacy": dict(privacy) if privacy is not None else None,
    }


def _probes(addresses: Mapping[str, str], job_id: int, sources: Sequence[int]) -> list[tuple[bytes, bytes | None]]:
    """(address, topic) pairs whose presence in a header's bloom means its receipts go into the bundle."""
    probes: list[tuple[bytes, bytes | None]] = [
        (bytes.fromhex(addresses[c][2:]), word(job_id)) for c in ("JobLedger", "Settlement")
    ]
    probes += [(bytes.fromhex(addresses["DataRegistry"][2:]), word(s)) for s in sources]
    if "PrivacyBudget" in addresses:  # a DP job's reservation, spend and release name the job (issue 20)
        probes.append((bytes.fromhex(addresses["PrivacyBudget"][2:]), word(job_id)))
    consortium = bytes.fromhex(addresses["Consortium"][2:])
    probes += [(consortium, topic0(e)) for e in _events("Consortium") if e["name"] in VALIDATOR_CHANGES]
    return probes


def _events(contract: str) -> list[Mapping[str, Any]]:
    return [i for i in load(contract).abi if i.get("type") == "event"]


def _governance(view: ChainView, consortium: str) -> list[dict[str, Any]]:
    """Every Consortium event that can change the validator set, with its proofs."""
    wanted = {"0x" + topic0(e).hex(): e for e in _events("Consortium") if e["name"] in VALIDATOR_CHANGES}
    logs = view.logs({"address": consortium, "topics": [sorted(wanted)]}, 0, view.head(), "validator set")
    return [_entry(view, int(log["blockNumber"], 16), int(log["logIndex"], 16), "Consortium", None) for log in logs]


def _entry(
    view: ChainView, number: int, log_index: int, contract: str, shown: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One proven event: its transaction and receipt with Merkle-Patricia proofs, and where the log sits."""
    block = view.block(number)
    if block.transactions is None:
        raise AuditError("the node serves no raw blocks (debug_getRawBlock): transactions cannot be proven")
    tx_index, position = _locate(block, log_index)
    entry: dict[str, Any] = {
        "block": number,
        "txIndex": tx_index,
        "logIndex": log_index,
        "logPosition": position,
        "contract": contract,
        "tx": "0x" + block.transactions[tx_index].hex(),
        "txProof": ["0x" + n.hex() for n in trie_proof(block.transactions, tx_index)],
        "receipt": "0x" + block.receipts[tx_index].hex(),
        "receiptProof": ["0x" + n.hex() for n in trie_proof(block.receipts, tx_index)],
    }
    if shown is not None:
        entry.update(event=shown["event"], actor=shown["actor"], args=shown["args"], time=shown["time"])
    return entry


def _locate(block: BlockEvidence, log_index: int) -> tuple[int, int]:
    for tx_index, receipt in enumerate(block.receipts_json):
        for position, log in enumerate(receipt["logs"]):
            if int(str(log["logIndex"]), 16) == log_index:
                return tx_index, position
    raise AuditError(f"block {block.number} has no log {log_index}")


def _attestations(view: ChainView, events: Sequence[IndexedEvent]) -> list[dict[str, str]]:
    found = []
    for recorded in (e for e in events if e.event == "AttestationRecorded"):
        block = view.block(recorded.block_number)
        payload = tx_input(block.transactions[recorded.tx_index]) if block.transactions else b""
        if payload[:4] == ATTEST:
            _, signer, signature = decode(["uint256", "address", "bytes"], payload[4:])
            found.append({"signer": signer, "signature": "0x" + signature.hex()})
    return found


def _payout(events: Sequence[IndexedEvent], terms_at: Any) -> dict[str, Any]:
    try:
        credits = implied_credits(events, terms_at)
    except PayoutUnknown as exc:
        return {"credits": None, "detail": str(exc)}
    if credits is None:
        return {"credits": None, "detail": "the escrow was not released"}
    return {"credits": [{"payee": c.payee, "amount": str(c.amount), "reason": c.reason} for c in credits]}

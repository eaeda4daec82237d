"""Checking an evidence bundle with no node and no network: the same checks as `--verify`.

Order (docs/evidence-bundle.md, "Verifying"): genesis and the validator-set derivation;
every header decoded, linked to its parent and sealed by a quorum of its height's
validators; every included receipt list hashed to its header's receiptsRoot; every event
proven (transaction and receipt Merkle-Patricia proofs to the header's roots, the log at
its position, its sender recovered from the transaction's signature, its arguments
re-decoded); completeness through the headers' blooms; then the job's evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from ledger.audit.bundle.format import TERMS_EVENTS, BundleError, bloom_may_hold, hexb, word
from ledger.audit.evidence import (
    PayoutUnknown,
    attesters,
    check_attestation,
    check_attestations_complete,
    check_commitments,
    check_consents_complete,
    check_payout,
    implied_credits,
    job_attestation,
    terms_from,
)
from ledger.audit.render import json_args
from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check, VerificationReport
from ledger.audit.roots import RawHeader, RootsError, decode_receipt_logs, trie_root, verify_trie_proof
from ledger.audit.trails import JobTrail, status_after
from ledger.audit.trustroot import VALIDATOR_CHANGES, TrustRoot, ValidatorChange, count_seals
from ledger.audit.verify import ATTEST, describe, tx_input
from ledger.chain.sealing import validator_set_hash
from ledger.index.decode import EventSpec, event_specs
from ledger.index.store import IndexedEvent


@dataclass
class BundleResult:
    """What verifying a bundle found: the job's trail as proven, and the report."""

    trail: JobTrail
    report: VerificationReport
    names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (the same keys as `--verify --json`)."""
        return {
            "schema": "custos.audit/1",
            "job": self.trail.job_id,
            "status": self.trail.status,
            "verification": self.report.to_json(),
        }


class _Offline:
    """State of one bundle check."""

    def __init__(self, bundle: Mapping[str, Any], pinned_genesis: bytes | None) -> None:
        self.b, self.pinned = bundle, pinned_genesis
        self.checks: list[Check] = []
        self.chain_id = int(bundle["chainId"])
        self.addresses = {n: to_checksum_address(a) for n, a in bundle["contracts"].items()}
        self.contract_of = {bytes.fromhex(a[2:]): n for n, a in self.addresses.items()}
        self.specs: dict[tuple[str, bytes], EventSpec] = {
            (n, t): s for n, abi in bundle["abi"].items() for t, s in event_specs(n, abi).items()
        }
        self.headers: dict[int, RawHeader] = {}
        self.seals: dict[int, list[bytes]] = {}
        self.receipts: dict[int, list[bytes]] = {}

    def add(self, name: str, subject: str, ok: bool, detail: str = "", passed: str = "") -> bool:
        self.checks.append(Check(name, subject, PASSED if ok else FAILED, passed if ok else detail))
        return ok

    # -- genesis, headers, seals --
    def genesis(self) -> TrustRoot:
        g = self.b["genesis"]
        header = RawHeader.decode(hexb(g["rlp"]))
        validators = frozenset(hexb(v) for v in g["validators"])
        if self.pinned is None:
            self.checks.append(
                Check(
                    "genesis pinned",
                    "block 0",
                    NOT_APPLICABLE,
                    f"compare genesis 0x{header.hash.hex()} with your deployment.json (--deployment)",
                )
            )
        else:
            self.add(
                "genesis pinned",
                "block 0",
                header.hash == self.pinned,
                f"genesis 0x{header.hash.hex()} is not the pinned 0x{self.pinned.hex()}",
            )
        self.add(
            "validator set",
            "genesis",
            header.extra_data == validator_set_hash(validators),
            "the genesis header does not commit to the bundle's validator set",
            f"{len(validators)} genesis validator(s)",
        )
        self.genesis_hash = header.hash
        return TrustRoot(self.chain_id, header.hash, validators)

    def load_headers(self) -> None:
        first = int(self.b["firstBlock"])
        if first != 1:  # a later start could leave out a governance event that removed a validator
            raise BundleError(f"the headers start at block {first}, not at block 1 (the genesis's child)")
        previous = None
        for offset, item in enumerate(self.b["headers"]):
            header = RawHeader.decode(hexb(item["rlp"]))
            number = first + offset
            if header.number != number:
                raise BundleError(f"header {offset} is block {header.number}, expected {number}")
            parent = previous.hash if previous is not None else (self.genesis_hash if number == 1 else None)
            if parent is not None:
                self.add(
                    "block canonical",
                    f"block {number}",
                    header.parent_hash == parent,
                    f"block {number} does not link to block {number - 1}",
                )
            self.headers[number] = header
            self.seals[number] = [hexb(s) for s in item["seals"]]
            previous = header
        for number, values in self.b.get("receipts", {}).items():
            self.receipts[int(number)] = [hexb(v) for v in values]

    def check_blocks(self, trust: TrustRoot) -> None:
        for number, header in self.headers.items():
            count = count_seals(self.chain_id, header.hash, self.seals[number], trust.validators_at(number))
            detail = count.describe() + ("; " + "; ".join(count.problems) if count.problems else "")
            self.checks.append(Check("seal quorum", f"block {number}", PASSED if count.sealed else FAILED, detail))
            if number in self.receipts:
                self.add(
                    "block roots",
                    f"block {number}",
                    trie_root(self.receipts[number]) == header.receipts_root,
                    "the bundled receipts do not hash to the header's receiptsRoot",
                    "receipts root",
                )

    # -- events --
    def prove(self, entry: Mapping[str, Any]) -> IndexedEvent | None:
        """The event an entry proves, or None (with the failed check recorded)."""
        number, index, position = int(entry["block"]), int(entry["txIndex"]), int(entry["logPosition"])
        subject = f"{entry.get('event', 'event')} @ {number}:{entry['logIndex']}"
        header = self.headers.get(number)
        if header is None:
            self.add("block canonical", subject, False, f"block {number} is not among the bundle's headers")
            return None
        try:
            tx = hexb(entry["tx"])
            receipt = hexb(entry["receipt"])
            proven_tx = verify_trie_proof(header.tx_root, index, [hexb(n) for n in entry["txProof"]])
            proven_receipt = verify_trie_proof(header.receipts_root, index, [hexb(n) for n in entry["receiptProof"]])
            logs = decode_receipt_logs(receipt)
        except (RootsError, BundleError, ValueError) as exc:
            self.add("log in receipt", subject, False, f"bad proof: {exc}")
            return None
        if proven_tx != tx or proven_receipt != receipt:
            self.add("log in receipt", subject, False, "the transaction or receipt is not the one the proof leads to")
            return None
        if position >= len(logs):
            self.add("log in receipt", subject, False, f"the receipt has no log at position {position}")
            return None
        if number in self.receipts and _log_index(self.receipts[number], index, position) != int(entry["logIndex"]):
            self.add("log in receipt", subject, False, "the log index is not the log's place in the block")
            return None
        address, topics, data = logs[position]
        contract = self.contract_of.get(address)
        spec = self.specs.get((contract or "", topics[0] if topics else b""))
        if spec is None or contract != entry["contract"]:
            self.add("log in receipt", subject, False, f"the log is not an event of {entry['contract']}")
            return None
        actor = Account.recover_transaction(tx)
        if "actor" in entry and to_checksum_address(entry["actor"]) != actor:
            self.add("log in receipt", subject, False, f"sent by {actor}, the bundle says {entry['actor']}")
            return None
        args = spec.decode(topics, data)
        event = IndexedEvent(
            number,
            int(entry["logIndex"]),
            index,
            keccak(tx),
            header.hash,
            header.timestamp,
            to_checksum_address(address),
            contract,
            spec.name,
            actor,
            args,
            topics,
            data,
        )
        subject = describe(event)
        self.add("log in receipt", subject, True)
        if "args" in entry:
            self.add(
                "record matches log",
                subject,
                entry.get("event") == spec.name and entry["args"] == json_args(spec.name, args),
                "the bundle's arguments differ from the log's bytes",
            )
            self.add(
                "block time",
                subject,
                int(entry["time"]) == header.timestamp,
                f"the bundle says {entry['time']}, the sealed header says {header.timestamp}",
            )
        return event

    # -- completeness --
    def complete(
        self,
        subject: str,
        proven: Sequence[IndexedEvent],
        probes: Sequence[tuple[str, bytes | None]],
        belongs: Callable[[str, str, tuple[bytes, ...], tuple[int, int]], bool],
    ) -> None:
        """Every log `belongs` in blocks whose bloom may hold a probe is among `proven`, and nothing else is."""
        on_chain: set[tuple[int, int]] = set()
        failures = []
        for number, header in self.headers.items():
            hits = [p for p in probes if bloom_may_hold(header.bloom, hexb(self.addresses[p[0]]), p[1])]
            if not hits:
                continue
            if number not in self.receipts:
                failures.append(
                    Check(
                        "complete",
                        f"block {number}",
                        FAILED,
                        f"its bloom may hold {subject}'s logs but its receipts are not in the bundle",
                    )
                )
                continue
            log_index = 0
            for receipt in self.receipts[number]:
                for address, topics, _ in decode_receipt_logs(receipt):
                    contract = self.contract_of.get(address)
                    spec = self.specs.get((contract or "", topics[0] if topics else b""))
                    if contract and spec and belongs(contract, spec.name, topics, (number, log_index)):
                        on_chain.add((number, log_index))
                    log_index += 1
        shown = {(e.block_number, e.log_index): e for e in proven}
        failures += [
            Check("complete", f"log @ {b}:{i}", FAILED, f"on chain for {subject}, not in the bundle")
            for b, i in sorted(on_chain - set(shown))
        ]
        failures += [
            Check("foreign event", describe(shown[k]), FAILED, f"in the bundle, but not an event of {subject}")
            for k in sorted(set(shown) - on_chain)
        ]
        self.checks += failures or [
            Check("complete", subject, PASSED, f"{len(shown)} events, blooms of {len(self.headers)} headers")
        ]


def _log_index(receipts: Sequence[bytes], tx_index: int, position: int) -> int:
    return sum(len(decode_receipt_logs(r)) for r in receipts[:tx_index]) + position


def verify(bundle: Mapping[str, Any], pinned_genesis: bytes | None = None) -> BundleResult:
    """Check `bundle` offline (shape-checked by `load_bundle`); never raises on bad evidence (a malformed
    file fails a check)."""
    job_id = int(bundle["job"])
    checks: list[Check] = []
    events: list[IndexedEvent] = []
    try:
        state = _Offline(bundle, pinned_genesis)
        checks = state.checks
        trust = state.genesis()
        state.load_headers()
        governance = [e for e in (state.prove(g) for g in bundle.get("governance", [])) if e is not None]
        trust = trust.with_changes(ValidatorChange(e.block_number, e.log_index, e.event, e.args) for e in governance)
        state.check_blocks(trust)
        changes = set(VALIDATOR_CHANGES)
        state.complete(
            "the validator set",
            governance,
            # The topics export probes for (validator changes): other Consortium logs (endpoints) need no receipts.
            [("Consortium", t) for (c, t), spec in state.specs.items() if c == "Consortium" and spec.name in changes],
            lambda c, name, _t, _p: c == "Consortium" and name in changes,
        )
        events = [e for e in (state.prove(x) for x in bundle["events"]) if e is not None]
        terms = [e for e in (state.prove(x) for x in bundle.get("terms", [])) if e is not None]
        events.sort(key=lambda e: (e.block_number, e.log_index))
        topic = word(job_id)
        # A DP job's PrivacyBudget events name the job in one of their indexed topics (issue 20).
        privacy = [("PrivacyBudget", topic)] if "PrivacyBudget" in state.addresses else []
        state.complete(
            f"job {job_id}",
            events,
            [("JobLedger", topic), ("Settlement", topic), *privacy],
            lambda c, name, t, _p: (
                (
                    c in ("JobLedger", "Settlement")
                    and _first_indexed(state, c, name) == "jobId"
                    and len(t) > 1
                    and t[1] == topic
                )
                or (c == "PrivacyBudget" and _job_topic(state, c, name, t) == topic)
            ),
        )
        _job_evidence(state, events, terms, bundle)
    except Exception as exc:  # noqa: BLE001 — a hostile file makes rlp, eth-abi and eth-utils raise anything: it fails a check
        checks.append(Check("bundle format", "bundle", FAILED, f"{type(exc).__name__}: {str(exc)[:300]}"))
    status = "Open"
    for event in events:
        status = status_after(event, status)
    report = VerificationReport(f"job {job_id} (bundle)", tuple(checks))
    return BundleResult(JobTrail(job_id, status, tuple(events)), report)


def _job_topic(state: _Offline, contract: str, name: str, topics: tuple[bytes, ...]) -> bytes | None:
    """The topic holding an event's indexed `jobId`, if it has one."""
    spec = next((s for (c, _), s in state.specs.items() if c == contract and s.name == name), None)
    indexed = [n for n, _, i in spec.inputs if i] if spec else []
    position = indexed.index("jobId") + 1 if "jobId" in indexed else None
    return topics[position] if position is not None and position < len(topics) else None


def _first_indexed(state: _Offline, contract: str, name: str) -> str | None:
    spec = next((s for (c, _), s in state.specs.items() if c == contract and s.name == name), None)
    indexed = [n for n, _, i in spec.inputs if i] if spec else []
    return indexed[0] if indexed else None


def _job_evidence(
    state: _Offline, events: list[IndexedEvent], terms: list[IndexedEvent], bundle: Mapping[str, Any]
) -> None:
    opened = next((e for e in events if e.event == "JobOpened"), None)
    if opened is None:
        state.add("complete", f"job {bundle['job']}", False, "the bundle holds no JobOpened")
        return
    sources = list(opened.args["sourceIds"])
    opening = (opened.block_number, opened.log_index)
    # Terms after the opening do not bear on this job's payout: the bundle need not carry them.
    state.complete(
        f"the terms of sources {sources}",
        terms,
        [("DataRegistry", word(s)) for s in sources],
        lambda c, name, t, at: (
            c == "DataRegistry"
            and name in TERMS_EVENTS
            and len(t) > 1
            and int.from_bytes(t[1], "big") in sources
            and at < opening
        ),
    )
    terms_at = terms_from(terms)
    owners = {s: t[0] for s in sources if (t := terms_at(s, opened)) is not None}
    allowed = attesters(events, owners)
    state.checks.append(check_consents_complete(events))
    state.checks.append(check_attestations_complete(events, allowed))
    typed = job_attestation(events, state.chain_id, state.addresses["JobLedger"])
    txs = {int(x["block"]) * 1_000_000 + int(x["txIndex"]): hexb(x["tx"]) for x in bundle["events"]}
    for recorded in (e for e in events if e.event == "AttestationRecorded"):
        payload = tx_input(txs[recorded.block_number * 1_000_000 + recorded.tx_index])
        if payload[:4] != ATTEST:
            state.checks.append(
                Check("attestation signature", describe(recorded), NOT_APPLICABLE, "submitted through another contract")
            )
            continue
        _, _, signature = decode(["uint256", "address", "bytes"], payload[4:])
        state.checks.append(check_attestation(recorded, signature, typed, allowed))
    payout = check_payout(events, terms_at)
    state.checks.append(payout)
    try:
        credits = implied_credits(events, terms_at)
    except PayoutUnknown:
        credits = None
    stated = (bundle.get("payout") or {}).get("credits")
    if credits is not None and stated is not None:
        state.add(
            "payout",
            "payout derivation",
            stated == [{"payee": c.payee, "amount": str(c.amount), "reason": c.reason} for c in credits],
            "the bundle's payout derivation is not what the rule gives",
            "as the rule gives",
        )
    committed = next((e for e in events if e.event == "ResultCommitted"), None)
    if committed is not None:
        state.checks += check_commitments(committed, bundle.get("utilityTable"), bundle.get("transcriptLeaves"))

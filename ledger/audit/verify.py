"""Verifying audit answers against the chain: trust root, blocks, every record, completeness, evidence.

A report holds, in order:
- the trust root: block 0 is the genesis deployment.json pins ("genesis pinned"), and every
  checkpoint the auditor saved still holds ("checkpoint");
- every block the answer touches, checked to its roots and seals (`ledger.audit.chainview`);
- per indexed event: its log is in the (root-verified) receipts of its block with the same
  address, topics and data, sent by the recorded actor ("log in receipt"); the stored
  arguments are what those bytes decode to ("record matches log"); its block is the one at
  that height ("block canonical"); its time is the sealed header's ("block time");
- completeness: the chain's events of the job/source/member by topic versus the index
  ("complete", "foreign event"); for a job, every attester's attestation before
  finalisation and every source's consent before Ready; for a member, `creditOf` at
  the head equals credits minus withdrawals;
- job evidence: attestation signatures and the payout recomputed;
- for a source, the events of every job that used it (what its uses and payouts are judged by)
  against the chain's logs, fetched in bulk (`ledger.audit.job_logs`: "job event", "complete");
- "nodes agree" failures when several nodes answered differently.
Nothing raises: a failed or impossible check is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import rlp
from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from ledger.anchor import InclusionProof
from ledger.audit.anchored import root_anchored
from ledger.audit.chainview import ChainView
from ledger.audit.completeness import KeyedQuery, compare, decode_logs, job_blocks, queries_for, source_blocks
from ledger.audit.evidence import (
    attesters,
    check_attestation,
    check_attestations_complete,
    check_consents_complete,
    check_payout,
    job_attestation,
)
from ledger.audit.job_logs import JOBS_PER_QUERY, job_of, log_position, match_logs, passed
from ledger.audit.queries import AuditQueries
from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check, VerificationReport
from ledger.audit.trails import SourceTrail
from ledger.audit.trustroot import Checkpoint
from ledger.index.decode import EventSpec, event_specs
from ledger.index.store import IndexedEvent

ATTEST = function_signature_to_4byte_selector("attest(uint256,address,bytes)")
CREDIT_OF = function_signature_to_4byte_selector("creditOf(address)")
JOB_CONTRACTS = ("JobLedger", "Settlement")
SOURCE_CONTRACTS = ("DataRegistry", "JobLedger")


def _guarded(name: str, subject: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a node error or odd data is a failed check, never a crash
        return Check(name, subject, FAILED, f"{type(exc).__name__}: {exc}")


def _guarded_all(name: str, subject: str, checks: Callable[[], list[Check]]) -> list[Check]:
    try:
        return checks()
    except Exception as exc:  # noqa: BLE001 - as in _guarded
        return [Check(name, subject, FAILED, f"{type(exc).__name__}: {exc}")]


def describe(event: IndexedEvent) -> str:
    """How a report names an event: `Name @ block:log`."""
    return f"{event.event} @ {event.block_number}:{event.log_index}"


class Verifier:
    """Checks query answers against the chain as `view_factory()` sees it (a fresh view per report)."""

    def __init__(
        self,
        view_factory: Callable[[], ChainView],
        queries: AuditQueries,
        abis: Mapping[str, Sequence[Mapping[str, Any]]],
        addresses: Mapping[str, str],
        *,
        start_block: int = 0,
        checkpoints: Sequence[Checkpoint] = (),
    ) -> None:
        self.view_factory, self.queries = view_factory, queries
        self.addresses = {name: Web3.to_checksum_address(a) for name, a in addresses.items()}
        self.contract_of = {a: name for name, a in self.addresses.items()}
        self.start_block, self.checkpoints = start_block, tuple(checkpoints)
        self._specs: dict[tuple[str, bytes], EventSpec] = {
            (name, topic): spec for name, abi in abis.items() for topic, spec in event_specs(name, abi).items()
        }
        self.view = view_factory()

    # -- reports --
    def verify_job(self, job_id: int) -> VerificationReport:
        """Trust root, every event of the job and its blocks, completeness, attestations and payout."""
        self.view = self.view_factory()
        events = self.queries.job_events(job_id)
        checks = self.trust_checks()
        checks += self._complete(
            f"job {job_id}", events, KeyedQuery("jobId", job_id, JOB_CONTRACTS), job_blocks(job_id, events)
        )
        checks += self._check_events(events)
        checks += self.check_job_evidence(events)
        return self._report(f"job {job_id}", checks)

    def verify_source(self, source_id: int) -> VerificationReport:
        """Every event of the source, completeness, and the payout of every job that used it."""
        self.view = self.view_factory()
        trail = self.queries.source_trail(source_id)
        checks = self.trust_checks()
        query = KeyedQuery("sourceId", source_id, SOURCE_CONTRACTS)
        checks += self._complete(f"source {source_id}", trail.events, query, source_blocks(source_id, trail.events))
        checks += self._check_events(trail.events)
        checks.append(_guarded("source uses", f"source {source_id}", lambda: self._uses(source_id, trail)))
        jobs = {use.job_id: self.queries.job_events(use.job_id) for use in trail.uses}
        checks += self._jobs_on_chain(jobs)
        for events in jobs.values():
            checks.append(check_payout(events, self.queries.source_terms_at))
        return self._report(f"source {source_id}", checks)

    def _jobs_on_chain(self, jobs: Mapping[int, Sequence[IndexedEvent]]) -> list[Check]:
        """Every indexed event of `jobs` against the chain's logs, fetched in bulk (`ledger.audit.job_logs`)."""
        checks: list[Check] = []
        routes = [r for r in queries_for(KeyedQuery("jobId", 0, JOB_CONTRACTS), self._specs) if r[0] in self.addresses]
        ids = sorted(jobs)
        for start in range(0, len(ids), JOBS_PER_QUERY):
            chunk = ids[start : start + JOBS_PER_QUERY]
            spans = [job_blocks(j, jobs[j]) for j in chunk]
            first = max(self.start_block, min(s[0] for s in spans))
            ends = [s[1] for s in spans]
            last = self.view.head() if None in ends else max(e for e in ends if e is not None)
            served: dict[int, dict[tuple[int, int], Mapping[str, Any]]] = {}
            keys = [KeyedQuery("jobId", j, JOB_CONTRACTS).topic() for j in chunk]
            for contract, position, topic0s in routes:
                query = {"address": self.addresses[contract], "topics": [topic0s] + [None] * (position - 1) + [keys]}
                for log in self.view.logs(query, first, last, f"jobs {chunk[0]}..{chunk[-1]}"):
                    served.setdefault(job_of(log, position), {})[log_position(log)] = log
            for job_id in chunk:
                checks += _guarded_all(
                    "job event", f"job {job_id}", lambda: self._job_on_chain(job_id, jobs[job_id], served, first, last)
                )
        return checks

    def _job_on_chain(
        self,
        job_id: int,
        events: Sequence[IndexedEvent],
        served: Mapping[int, Mapping[tuple[int, int], Mapping[str, Any]]],
        first: int,
        last: int,
    ) -> list[Check]:
        logs = served.get(job_id, {})
        query = KeyedQuery("jobId", job_id, JOB_CONTRACTS)
        chain = decode_logs(logs.values(), self.contract_of, self._specs)
        checks = compare(f"job {job_id}", query, events, chain, f"in blocks {first}..{last}")
        failed, unserved = match_logs(events, logs, self._specs)
        # An event named by the job but not under its indexed topic is checked against its block's receipts.
        checks += failed + self._check_events([e for e in unserved if query.named_by(e)])
        if not failed:
            checks.append(passed(job_id, len(events) - len(unserved)))
        return checks

    def _uses(self, source_id: int, trail: SourceTrail) -> Check:
        """Each job's status and payout as shown (from the derived job facts) equal those the events rows imply."""
        subject = f"source {source_id}"
        rows = {u.job_id: (u.status, u.paid) for u in self.queries.source_trail(source_id, derived=False).uses}
        shown = {u.job_id: (u.status, u.paid) for u in trail.uses}
        wrong = sorted(j for j in rows.keys() | shown.keys() if rows.get(j) != shown.get(j))
        if wrong:
            job = wrong[0]
            return Check(
                "source uses",
                subject,
                FAILED,
                f"{len(wrong)} job(s) differ from their events, first job {job}: shown {shown.get(job)},"
                f" the events give {rows.get(job)} (the index's job facts were edited?)",
            )
        return Check("source uses", subject, PASSED, f"{len(shown)} job(s) as their events give")

    def verify_member(self, address: str) -> VerificationReport:
        """Every event the member did or was named in; its payments complete and equal to `creditOf`."""
        self.view = self.view_factory()
        trail = self.queries.member_trail(address)
        checks = self.trust_checks()
        payments = [e for e in trail.events if e.event in ("PaymentCredited", "PaymentWithdrawn")]
        payments = [e for e in payments if e.args["payee"].lower() == address.lower()]
        if "Settlement" in self.addresses:
            query = KeyedQuery("payee", address, ("Settlement",))
            checks += self._complete(f"member {address}'s payments", payments, query)
            checks.append(_guarded("credit balance", f"member {address}", lambda: self._credit(address, trail)))
        checks += self._check_events(trail.events)
        return self._report(f"member {address}", checks)

    def verify_event(self, event: IndexedEvent) -> VerificationReport:
        """The chain checks of one record (e.g. one step of a timeline shown with its proof)."""
        self.view = self.view_factory()
        return self._report(describe(event), self.trust_checks() + self._check_events([event]))

    def verify_anchored(self, proof: InclusionProof, data: bytes) -> VerificationReport:
        """The record is in its batch (Merkle proof) and the batch root was anchored by AuditAnchor."""
        self.view = self.view_factory()
        subject = f"record {proof.record_id} in batch {proof.batch_id}"
        ok = proof.verify(data)
        inclusion = Check(
            "merkle inclusion", subject, PASSED if ok else FAILED, "" if ok else "the proof does not lead to the root"
        )
        anchor = self.addresses.get("AuditAnchor")
        anchored = _guarded("root anchored", subject, lambda: root_anchored(self.view, anchor, proof, subject))
        return self._report(subject, [inclusion, anchored])

    def _report(self, subject: str, checks: list[Check]) -> VerificationReport:
        return VerificationReport(subject, tuple(checks + self.view.disagreements))

    # -- trust root --
    def trust_checks(self) -> list[Check]:
        """Genesis is the pinned one; every saved checkpoint still holds on every node."""
        checks = [_guarded("genesis pinned", "block 0", self.view.genesis_check)]
        checks.append(_guarded("validator set", "genesis", self.view.validator_set))
        for checkpoint in self.checkpoints:
            checks.append(_guarded("checkpoint", f"block {checkpoint.height}", lambda: self._checkpoint(checkpoint)))
        return checks

    def _checkpoint(self, checkpoint: Checkpoint) -> Check:
        subject = f"block {checkpoint.height}"
        head = self.view.head()
        if checkpoint.height > head:
            return Check(
                "checkpoint", subject, FAILED, f"history changed: the chain's head {head} is below the saved checkpoint"
            )
        found = self.view.block(checkpoint.height).header.hash
        if found != checkpoint.hash:
            return Check(
                "checkpoint",
                subject,
                FAILED,
                f"history changed: saved 0x{checkpoint.hash.hex()[:16]}…, the chain now has 0x{found.hex()[:16]}…",
            )
        return Check("checkpoint", subject, PASSED, f"0x{found.hex()[:16]}… as saved")

    # -- per-record checks --
    def check_events(self, events: Iterable[IndexedEvent]) -> list[Check]:
        """The blocks the events sit in (roots, seals), then the four checks of every event (a fresh view)."""
        self.view = self.view_factory()
        return self._check_events(events) + self.view.disagreements

    def _check_events(self, events: Iterable[IndexedEvent]) -> list[Check]:
        events = list(events)
        checks = self.view.block_checks([e.block_number for e in events])
        for event in events:
            subject = describe(event)
            checks.append(_guarded("log in receipt", subject, lambda: self._log_in_receipt(event, subject)))
            checks.append(_guarded("record matches log", subject, lambda: self._matches_log(event, subject)))
            checks.append(_guarded("block canonical", subject, lambda: self._canonical(event, subject)))
            checks.append(_guarded("block time", subject, lambda: self._time(event, subject)))
        return checks

    def _log_in_receipt(self, event: IndexedEvent, subject: str) -> Check:
        block = self.view.block(event.block_number)
        if event.tx_index >= len(block.receipts_json):
            return Check("log in receipt", subject, FAILED, f"block {event.block_number} has no tx {event.tx_index}")
        receipt = block.receipts_json[event.tx_index]
        if bytes.fromhex(str(receipt["transactionHash"])[2:]) != event.tx_hash:
            return Check("log in receipt", subject, FAILED, "the transaction at that position is another one")
        log = next((x for x in receipt["logs"] if int(str(x["logIndex"]), 16) == event.log_index), None)
        if log is None:
            return Check("log in receipt", subject, FAILED, f"no log {event.log_index} in the receipt")
        if (
            Web3.to_checksum_address(log["address"]) != Web3.to_checksum_address(event.address)
            or tuple(bytes.fromhex(t[2:]) for t in log["topics"]) != event.topics
            or bytes.fromhex(str(log["data"])[2:]) != event.data
        ):
            return Check("log in receipt", subject, FAILED, "the chain's log differs from the indexed one")
        if self.contract_of.get(Web3.to_checksum_address(event.address), event.contract) != event.contract:
            return Check("log in receipt", subject, FAILED, f"emitted by {event.address}, not by {event.contract}")
        sender = block.sender(event.tx_index)
        if sender != Web3.to_checksum_address(event.actor):
            return Check("log in receipt", subject, FAILED, f"sent by {sender}, indexed as {event.actor}")
        return Check("log in receipt", subject, PASSED)

    def _matches_log(self, event: IndexedEvent, subject: str) -> Check:
        spec = self._specs.get((event.contract, event.topics[0] if event.topics else b""))
        if spec is None:
            return Check("record matches log", subject, FAILED, f"{event.contract} has no event with this topic")
        if spec.name != event.event or spec.decode(event.topics, event.data) != event.args:
            return Check("record matches log", subject, FAILED, "the stored arguments differ from the log's bytes")
        return Check("record matches log", subject, PASSED)

    def _canonical(self, event: IndexedEvent, subject: str) -> Check:
        header = self.view.block(event.block_number).header
        if header.hash != event.block_hash:
            return Check("block canonical", subject, FAILED, f"block {event.block_number} is not the indexed one")
        return Check("block canonical", subject, PASSED, f"block 0x{event.block_hash.hex()[:12]}…")

    def _time(self, event: IndexedEvent, subject: str) -> Check:
        sealed = self.view.block(event.block_number).header.timestamp
        if sealed != event.block_time:
            return Check(
                "block time", subject, FAILED, f"indexed at {event.block_time}, the sealed header says {sealed}"
            )
        return Check("block time", subject, PASSED)

    # -- completeness --
    def _complete(
        self, subject: str, indexed: Sequence[IndexedEvent], query: KeyedQuery, span: tuple[int, int | None] = (0, None)
    ) -> list[Check]:
        """The chain's events under `query` in blocks `span` (default: start block..head) versus `indexed`."""
        first, last = max(self.start_block, span[0]), self.view.head() if span[1] is None else span[1]
        logs: list[Mapping[str, Any]] = []
        for contract, position, topic0s in queries_for(query, self._specs):
            if contract not in self.addresses:
                continue
            topics: list[Any] = [topic0s] + [None] * (position - 1) + [query.topic()]
            logs += self.view.logs({"address": self.addresses[contract], "topics": topics}, first, last, subject)
        chain = decode_logs(logs, self.contract_of, self._specs)
        where = f"in blocks {first}..{last}"
        checks = compare(subject, query, indexed, chain, where)
        return checks + self.view.block_checks([c.block for c in chain])

    def _credit(self, address: str, trail: Any) -> Check:
        subject = f"member {address}"
        data = "0x" + (CREDIT_OF + bytes(12) + bytes.fromhex(address[2:])).hex()
        head = self.view.head()
        answer = self.view.ask("eth_call", [{"to": self.addresses["Settlement"], "data": data}, hex(head)], subject)
        on_chain = int(answer, 16)
        expected = trail.credited - trail.withdrawn
        if on_chain != expected:
            return Check(
                "credit balance",
                subject,
                FAILED,
                f"creditOf at block {head} is {on_chain}, the index implies {expected}"
                f" ({trail.credited} credited − {trail.withdrawn} withdrawn)",
            )
        return Check("credit balance", subject, PASSED, f"creditOf at block {head} = {on_chain}")

    # -- job evidence --
    def check_job_evidence(self, events: Sequence[IndexedEvent]) -> list[Check]:
        """Consents and attestations complete, each signature, and the payout of one job's events."""
        checks: list[Check] = []
        opened = next((e for e in events if e.event == "JobOpened"), None)
        owners = {}
        if opened is not None:
            for source in opened.args["sourceIds"]:
                terms = self.queries.source_terms_at(source, opened)
                if terms is not None:
                    owners[source] = terms[0]
        allowed = attesters(events, owners)
        checks.append(_guarded("consents complete", "consents", lambda: check_consents_complete(events)))
        checks.append(
            _guarded("attestations complete", "attestations", lambda: check_attestations_complete(events, allowed))
        )
        for recorded in (e for e in events if e.event == "AttestationRecorded"):
            checks.append(
                _guarded(
                    "attestation signature", describe(recorded), lambda: self._attestation(recorded, events, allowed)
                )
            )
        checks.append(_guarded("payout", "payout", lambda: check_payout(events, self.queries.source_terms_at)))
        return checks

    def _attestation(self, recorded: IndexedEvent, events: Sequence[IndexedEvent], allowed: set[str]) -> Check:
        block = self.view.block(recorded.block_number)
        payload = tx_input(block.transactions[recorded.tx_index]) if block.transactions else None
        if payload is None:
            payload = bytes.fromhex(
                str(self.view.ask_first("eth_getTransactionByHash", ["0x" + recorded.tx_hash.hex()])["input"])[2:]
            )
        if payload[:4] != ATTEST:
            return Check(
                "attestation signature",
                describe(recorded),
                NOT_APPLICABLE,
                "submitted through another contract: the signature is not in the transaction input",
            )
        _, _, signature = decode(["uint256", "address", "bytes"], payload[4:])
        return check_attestation(
            recorded, signature, job_attestation(events, self.view.chain_id, recorded.address), allowed
        )


def tx_input(encoded: bytes) -> bytes:
    """The calldata of a transaction as the trie stores it (legacy list or EIP-2718 typed)."""
    if encoded[0] >= 0xC0:
        return bytes(rlp.decode(encoded)[5])
    fields = rlp.decode(encoded[1:])
    return bytes(fields[7] if encoded[0] in (2, 3, 4) else fields[6])

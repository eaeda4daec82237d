"""Verifying audit answers against the chain: every record, every job's evidence, anchored records.

For each indexed event: its receipt and log exist in the block it names with the same
address, topics and data, and the transaction's sender is the recorded actor ("log in
receipt"); the stored arguments are what those bytes decode to ("record matches log");
the block is the canonical one at its height under the head ("block canonical"); and on
the embedded chain, a validator sealed it ("seal", "not applicable" elsewhere). For each
job: every attestation signature recovers to its signer, a participant; the credits are
what the payout rule implies. Nothing raises: a failed or impossible check is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from ledger.anchor import InclusionProof
from ledger.audit.evidence import attesters, check_attestation, check_payout, job_attestation
from ledger.audit.queries import AuditQueries
from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check, VerificationReport
from ledger.chain.sealing import SealError, validator_set_hash, verify_seal
from ledger.index.decode import EventSpec, event_specs
from ledger.index.store import IndexedEvent

ATTEST = function_signature_to_4byte_selector("attest(uint256,address,bytes)")
BATCH_ANCHORED = Web3.keccak(text="BatchAnchored(uint256,bytes32,bytes32,uint64,address)")


def _guarded(name: str, subject: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a node error or odd data is a failed check, never a crash
        return Check(name, subject, FAILED, f"{type(exc).__name__}: {exc}")


def describe(event: IndexedEvent) -> str:
    """How a report names an event: `Name @ block:log`."""
    return f"{event.event} @ {event.block_number}:{event.log_index}"


class Verifier:
    """Checks query answers against the node `w3`; `abis` maps contract name → ABI for re-decoding."""

    def __init__(self, w3: Web3, queries: AuditQueries, abis: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.w3, self.queries = w3, queries
        self._specs: dict[tuple[str, bytes], EventSpec] = {
            (name, topic): spec for name, abi in abis.items() for topic, spec in event_specs(name, abi).items()
        }
        self._receipts: dict[bytes, Any] = {}
        self._txs: dict[bytes, Any] = {}
        self._blocks: dict[int, Any] = {}
        self._validators: frozenset[bytes] | None | bool = False  # False: not asked yet; None: not embedded
        self._chain_id: int | None = None

    # -- reports --
    def verify_job(self, job_id: int) -> VerificationReport:
        """Every event of the job, its attestations and its payout."""
        events = self.queries.job_trail(job_id).events
        checks = self.check_events(events) + self.check_job_evidence(events)
        return VerificationReport(f"job {job_id}", tuple(checks))

    def verify_source(self, source_id: int) -> VerificationReport:
        """Every event of the source, and the payout of every job that used it."""
        trail = self.queries.source_trail(source_id)
        checks = self.check_events(trail.events)
        for use in trail.uses:
            checks.append(check_payout(self.queries.job_trail(use.job_id).events, self.queries.source_terms_at))
        return VerificationReport(f"source {source_id}", tuple(checks))

    def verify_member(self, address: str) -> VerificationReport:
        """Every event the member did or was named in."""
        return VerificationReport(
            f"member {address}", tuple(self.check_events(self.queries.member_trail(address).events))
        )

    def verify_event(self, event: IndexedEvent) -> VerificationReport:
        """The chain checks of one record (e.g. one step of a timeline shown with its proof)."""
        return VerificationReport(describe(event), tuple(self.check_events([event])))

    def verify_anchored(self, proof: InclusionProof, data: bytes) -> VerificationReport:
        """The record is in its batch (Merkle proof) and the batch root was anchored on chain."""
        subject = f"record {proof.record_id} in batch {proof.batch_id}"
        self._forget()
        inclusion = Check(
            "merkle inclusion",
            subject,
            PASSED if proof.verify(data) else FAILED,
            "" if proof.verify(data) else "the proof does not lead from this record to the root",
        )
        anchored = _guarded("root anchored", subject, lambda: self._root_anchored(proof, subject))
        return VerificationReport(subject, (inclusion, anchored))

    # -- per-record checks --
    def check_events(self, events: Iterable[IndexedEvent]) -> list[Check]:
        """The four chain checks of every event."""
        self._forget()
        checks = []
        for event in events:
            subject = describe(event)
            checks.append(_guarded("log in receipt", subject, lambda: self._log_in_receipt(event, subject)))
            checks.append(_guarded("record matches log", subject, lambda: self._matches_log(event, subject)))
            checks.append(_guarded("block canonical", subject, lambda: self._canonical(event, subject)))
            checks.append(_guarded("seal", subject, lambda: self._seal(event, subject)))
        return checks

    def _log_in_receipt(self, event: IndexedEvent, subject: str) -> Check:
        receipt = self._receipt(event.tx_hash)
        if receipt is None:
            return Check("log in receipt", subject, FAILED, f"no receipt for 0x{event.tx_hash.hex()}")
        if bytes(receipt["blockHash"]) != event.block_hash or int(receipt["blockNumber"]) != event.block_number:
            return Check("log in receipt", subject, FAILED, "the transaction is in another block")
        log = next((x for x in receipt["logs"] if int(x["logIndex"]) == event.log_index), None)
        if log is None:
            return Check("log in receipt", subject, FAILED, f"no log {event.log_index} in the receipt")
        if (
            Web3.to_checksum_address(log["address"]) != Web3.to_checksum_address(event.address)
            or tuple(bytes(t) for t in log["topics"]) != event.topics
            or bytes(log["data"]) != event.data
        ):
            return Check("log in receipt", subject, FAILED, "the chain's log differs from the indexed one")
        sender = Web3.to_checksum_address(self._tx(event.tx_hash)["from"])
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
        block = self._block(event.block_number)
        if block is None or bytes(block["hash"]) != event.block_hash:
            return Check("block canonical", subject, FAILED, f"block {event.block_number} is not the indexed one")
        return Check("block canonical", subject, PASSED, f"block 0x{event.block_hash.hex()[:12]}…")

    def _seal(self, event: IndexedEvent, subject: str) -> Check:
        validators = self._validator_set()
        if validators is None:
            return Check("seal", subject, NOT_APPLICABLE, "not an embedded Custos chain (no seals)")
        seal = self._rpc("custos_getBlockSeal", ["0x" + event.block_hash.hex()])
        try:
            sealer = verify_seal(self._chain(), event.block_hash, bytes(HexBytes(seal)) if seal else None, validators)
        except SealError as exc:
            return Check("seal", subject, FAILED, str(exc))
        return Check("seal", subject, PASSED, f"sealed by 0x{sealer.hex()}")

    # -- job evidence --
    def check_job_evidence(self, events: Sequence[IndexedEvent]) -> list[Check]:
        """Attestation signatures and the payout of one job's events."""
        checks: list[Check] = []
        opened = next((e for e in events if e.event == "JobOpened"), None)
        owners = {}
        if opened is not None:
            for source in opened.args["sourceIds"]:
                terms = self.queries.source_terms_at(source, opened)
                if terms is not None:
                    owners[source] = terms[0]
        allowed = attesters(events, owners)
        for recorded in (e for e in events if e.event == "AttestationRecorded"):
            checks.append(
                _guarded(
                    "attestation signature", describe(recorded), lambda: self._attestation(recorded, events, allowed)
                )
            )
        checks.append(_guarded("payout", "payout", lambda: check_payout(events, self.queries.source_terms_at)))
        return checks

    def _attestation(self, recorded: IndexedEvent, events: Sequence[IndexedEvent], allowed: set[str]) -> Check:
        payload = bytes(self._tx(recorded.tx_hash)["input"])
        if payload[:4] != ATTEST:
            return Check(
                "attestation signature",
                describe(recorded),
                NOT_APPLICABLE,
                "submitted through another contract: the signature is not in the transaction input",
            )
        _, _, signature = decode(["uint256", "address", "bytes"], payload[4:])
        return check_attestation(recorded, signature, job_attestation(events, self._chain(), recorded.address), allowed)

    # -- anchoring --
    def _root_anchored(self, proof: InclusionProof, subject: str) -> Check:
        if proof.tx_hash is None:
            return Check("root anchored", subject, FAILED, "the batch was never anchored")
        receipt = self._receipt(proof.tx_hash)
        if receipt is None:
            return Check("root anchored", subject, FAILED, f"no anchoring transaction 0x{proof.tx_hash.hex()}")
        for log in receipt["logs"]:
            topics = [bytes(t) for t in log["topics"]]
            if len(topics) >= 3 and topics[0] == BATCH_ANCHORED and topics[2] == proof.root:
                block = self._block(int(receipt["blockNumber"]))
                if block is None or bytes(block["hash"]) != bytes(receipt["blockHash"]):
                    return Check("root anchored", subject, FAILED, "the anchoring block is no longer canonical")
                return Check("root anchored", subject, PASSED, f"block {int(receipt['blockNumber'])}")
        return Check("root anchored", subject, FAILED, "the anchoring transaction anchored another root")

    # -- node access, cached within one call (a reorg between calls must not be hidden by a cache) --
    def _forget(self) -> None:
        self._receipts.clear()
        self._txs.clear()
        self._blocks.clear()

    def _receipt(self, tx_hash: bytes) -> Any:
        if tx_hash not in self._receipts:
            try:
                self._receipts[tx_hash] = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                self._receipts[tx_hash] = None
        return self._receipts[tx_hash]

    def _tx(self, tx_hash: bytes) -> Any:
        if tx_hash not in self._txs:
            self._txs[tx_hash] = self.w3.eth.get_transaction(HexBytes(tx_hash))
        return self._txs[tx_hash]

    def _block(self, number: int) -> Any:
        if number not in self._blocks:
            try:
                self._blocks[number] = self.w3.eth.get_block(number)
            except BlockNotFound:
                self._blocks[number] = None
        return self._blocks[number]

    def _chain(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def _validator_set(self) -> frozenset[bytes] | None:
        if self._validators is False:
            answer = self.w3.provider.make_request("custos_validators", [])  # type: ignore[arg-type]
            if "error" in answer or not answer.get("result"):
                self._validators = None
            else:
                validators = frozenset(bytes(HexBytes(v)) for v in answer["result"])
                if bytes(self.w3.eth.get_block(0)["extraData"]) != validator_set_hash(validators):
                    raise SealError("the node's validator set is not the one its genesis commits to")
                self._validators = validators
        return self._validators  # type: ignore[return-value]

    def _rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result")

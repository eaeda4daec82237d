"""Job-level evidence checks that need no node: attestation signatures and the payout.

They take indexed events (each verified against the chain separately) and recompute what
the protocol says they must contain: who may attest and what they signed (EIP-712,
docs/protocol.md), and the credits the payout rule implies from the committed weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check
from ledger.index.store import IndexedEvent
from ledger.payout import PayoutRuleError, refund, split

ATTESTATION_TYPES = {
    "Attestation": [
        {"name": "jobId", "type": "uint256"},
        {"name": "inputsHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
        {"name": "transcriptRoot", "type": "bytes32"},
        {"name": "contributionHash", "type": "bytes32"},
    ]
}


def _first(events: Sequence[IndexedEvent], name: str) -> IndexedEvent | None:
    return next((e for e in events if e.event == name), None)


def attesters(events: Sequence[IndexedEvent], owners: dict[int, str]) -> set[str]:
    """The job's attesters: the distinct owners of its sources and its compute parties (lower-case)."""
    opened = _first(events, "JobOpened")
    if opened is None:
        return set()
    found = {owners[s].lower() for s in opened.args["sourceIds"] if s in owners}
    return found | {p.lower() for p in opened.args["computeParties"]}


def attestation_digest_message(events: Sequence[IndexedEvent], chain_id: int, job_ledger: str) -> dict | None:
    """The EIP-712 typed data every attester of this job signs, or None before a commit."""
    opened, committed = _first(events, "JobOpened"), _first(events, "ResultCommitted")
    if opened is None or committed is None:
        return None
    return {
        "types": ATTESTATION_TYPES,
        "primaryType": "Attestation",
        "domain": {"name": "Custos JobLedger", "version": "1", "chainId": chain_id, "verifyingContract": job_ledger},
        "message": {
            "jobId": opened.args["jobId"],
            "inputsHash": bytes.fromhex(opened.args["inputsHash"][2:]),
            "resultHash": bytes.fromhex(committed.args["resultHash"][2:]),
            "transcriptRoot": bytes.fromhex(committed.args["transcriptRoot"][2:]),
            "contributionHash": bytes.fromhex(committed.args["contributionHash"][2:]),
        },
    }


def check_attestation(recorded: IndexedEvent, signature: bytes, typed_data: dict | None, allowed: set[str]) -> Check:
    """The signature recovers to the recorded signer, who is an attester of the job."""
    subject = f"job {recorded.args.get('jobId')} attestation by {recorded.args.get('signer')}"
    if typed_data is None:
        return Check("attestation signature", subject, FAILED, "no committed result to attest to")
    try:
        signer = Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
    except Exception as exc:  # noqa: BLE001 - any malformed signature is a failed check, not a crash
        return Check("attestation signature", subject, FAILED, f"signature does not recover: {exc}")
    if signer.lower() != str(recorded.args.get("signer", "")).lower():
        return Check("attestation signature", subject, FAILED, f"signature recovers to {signer}, not the signer")
    if signer.lower() not in allowed:
        return Check("attestation signature", subject, FAILED, f"{signer} is not a participant of the job")
    return Check("attestation signature", subject, PASSED)


def contribution_hash(weights: Sequence[int], utility_table_hash: bytes) -> bytes:
    """keccak256(abi.encode(uint256[] weights, bytes32 utilityTableHash)) (docs/protocol.md)."""
    return keccak(encode(["uint256[]", "bytes32"], [list(weights), utility_table_hash]))


def check_payout(
    events: Sequence[IndexedEvent], terms_at: Callable[[int, IndexedEvent], tuple[str, int] | None]
) -> Check:
    """Credits emitted for the job equal what the payout rule implies from its committed table.

    `terms_at(source_id, event)` gives a source's (owner, price) as they stood just before `event`.
    """
    opened = _first(events, "JobOpened")
    subject = f"job {opened.args['jobId'] if opened else '?'} payout"
    credited = [(e.args["payee"].lower(), e.args["amount"]) for e in events if e.event == "PaymentCredited"]
    released, finalized = _first(events, "EscrowReleased"), _first(events, "JobFinalized")
    if opened is None or (released is None and not credited):
        return Check("payout", subject, NOT_APPLICABLE, "nothing settled yet")
    if released is None:
        return _check_refund(subject, opened, events, credited, terms_at)
    committed = _first(events, "ResultCommitted")
    if committed is None:
        return Check("payout", subject, FAILED, "escrow released without a committed contribution table")
    weights = committed.args["weights"]
    table = bytes.fromhex(committed.args["utilityTableHash"][2:])
    if "0x" + contribution_hash(weights, table).hex() != committed.args["contributionHash"]:
        return Check("payout", subject, FAILED, "contributionHash does not match the committed weights and table")
    terms = [terms_at(s, opened) for s in opened.args["sourceIds"]]
    if any(t is None for t in terms):
        return Check("payout", subject, FAILED, "a source of the job is not in the index")
    escrow = released.args["amount"] if finalized is None else finalized.args["escrow"]
    try:
        rule = split(
            escrow,
            [t[0].lower() for t in terms if t],
            [t[1] for t in terms if t],
            weights,
            [p.lower() for p in opened.args["computeParties"]],
            opened.args["feeBps"],
        )
    except PayoutRuleError as exc:
        return Check("payout", subject, FAILED, f"the committed table breaks the payout rule: {exc}")
    return _compare(subject, [(c.payee, c.amount) for c in rule], credited)


def _check_refund(
    subject: str,
    opened: IndexedEvent,
    events: Sequence[IndexedEvent],
    credited: list[tuple[str, int]],
    terms_at: Callable[[int, IndexedEvent], tuple[str, int] | None],
) -> Check:
    """A refund: once the job was Ready, the owners' prices (an aborting owner's excepted) come first."""
    ready = _first(events, "JobReady") is not None
    cancelled, aborted = _first(events, "JobCancelled"), _first(events, "JobAborted")
    resolved, defaulted = _first(events, "DisputeResolved"), _first(events, "DisputeDefaulted")
    if cancelled is None and aborted is None and resolved is None and defaulted is None:
        return Check("payout", subject, FAILED, "credits without a release or a refund")
    priced = defaulted is not None or (ready and (cancelled is not None or aborted is not None))
    terms = [terms_at(s, opened) for s in opened.args["sourceIds"]] if priced else []
    if any(t is None for t in terms):
        return Check("payout", subject, FAILED, "a source of the job is not in the index")
    unpaid = aborted.args["by"] if aborted is not None else None
    try:
        rule = refund(
            opened.args["budget"],
            opened.args["requester"].lower(),
            [t[0].lower() for t in terms if t],
            [t[1] for t in terms if t],
            unpaid,
        )
    except PayoutRuleError as exc:
        return Check("payout", subject, FAILED, f"the refund breaks the payout rule: {exc}")
    return _compare(subject, [(c.payee, c.amount) for c in rule], credited)


def _compare(subject: str, expected: list[tuple[str, int]], credited: list[tuple[str, int]]) -> Check:
    if expected == credited:
        return Check("payout", subject, PASSED, f"{len(credited)} credits, {sum(a for _, a in credited)} in total")
    return Check("payout", subject, FAILED, f"credited {credited}, the payout rule implies {expected}")

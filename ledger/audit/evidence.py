"""Job-level evidence checks that need no node: attestation signatures and the payout.

They take indexed events (each verified against the chain separately) and recompute what
the protocol says they must contain: who may attest and what they signed (EIP-712,
docs/protocol.md), and the credits the payout rule implies from the committed weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from eth_utils import keccak

from ledger import merkle
from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check
from ledger.errors import ProtocolValueError
from ledger.index.store import IndexedEvent
from ledger.payout import Credit, PayoutRuleError, refund, split
from ledger.protocol import NO_PRIVACY_SPEND, Attestation, AttestationDomain, contribution_hash, privacy_hash

#: What every attester of a job signed, and where: None before the job's result is committed.
Attested = tuple[Attestation, AttestationDomain] | None


def _first(events: Sequence[IndexedEvent], name: str) -> IndexedEvent | None:
    return next((e for e in events if e.event == name), None)


def attesters(events: Sequence[IndexedEvent], owners: dict[int, str]) -> set[str]:
    """The job's attesters: the distinct owners of its sources and its compute parties (lower-case)."""
    opened = _first(events, "JobOpened")
    if opened is None:
        return set()
    found = {owners[s].lower() for s in opened.args["sourceIds"] if s in owners}
    return found | {p.lower() for p in opened.args["computeParties"]}


def job_attestation(events: Sequence[IndexedEvent], chain_id: int, job_ledger: str) -> Attested:
    """The attestation every attester of this job signs and its domain, or None before a commit."""
    opened, committed = _first(events, "JobOpened"), _first(events, "ResultCommitted")
    if opened is None or committed is None:
        return None
    attestation = Attestation(
        opened.args["jobId"],
        bytes.fromhex(opened.args["inputsHash"][2:]),
        bytes.fromhex(committed.args["resultHash"][2:]),
        bytes.fromhex(committed.args["transcriptRoot"][2:]),
        bytes.fromhex(committed.args["contributionHash"][2:]),
        _privacy_hash(events),
    )
    return attestation, AttestationDomain(chain_id, job_ledger)


def _privacy_hash(events: Sequence[IndexedEvent]) -> bytes:
    """What the attestation covers of a DP job's reported spend (PrivacyBudget), zero for an exact job."""
    spend = _first(events, "PrivacySpendReported")
    return NO_PRIVACY_SPEND if spend is None else privacy_hash(spend.args["epsilons"], spend.args["delta"])


def check_attestation(recorded: IndexedEvent, signature: bytes, attested: Attested, allowed: set[str]) -> Check:
    """The signature recovers to the recorded signer, who is an attester of the job."""
    subject = f"job {recorded.args.get('jobId')} attestation by {recorded.args.get('signer')}"
    if attested is None:
        return Check("attestation signature", subject, FAILED, "no committed result to attest to")
    try:
        signer = attested[0].signer(signature, attested[1])
    except ProtocolValueError as exc:  # a malformed signature is a failed check, not a crash
        return Check("attestation signature", subject, FAILED, str(exc))
    if signer.lower() != str(recorded.args.get("signer", "")).lower():
        return Check("attestation signature", subject, FAILED, f"signature recovers to {signer}, not the signer")
    if signer.lower() not in allowed:
        return Check("attestation signature", subject, FAILED, f"{signer} is not a participant of the job")
    return Check("attestation signature", subject, PASSED)


def check_consents_complete(events: Sequence[IndexedEvent]) -> Check:
    """Every source of the job consented before the job became Ready."""
    opened, ready = _first(events, "JobOpened"), _first(events, "JobReady")
    subject = f"job {opened.args['jobId'] if opened else '?'} consents"
    if opened is None:
        return Check("consents complete", subject, FAILED, "no JobOpened in the trail")
    if ready is None:
        return Check("consents complete", subject, NOT_APPLICABLE, "the job never became Ready")
    given = {e.args["sourceId"] for e in events if e.event == "ConsentGiven" and _before(e, ready)}
    missing = [s for s in opened.args["sourceIds"] if s not in given]
    if missing:
        return Check("consents complete", subject, FAILED, f"Ready without a consent of source(s) {missing}")
    return Check("consents complete", subject, PASSED, f"{len(given)} of {len(opened.args['sourceIds'])} sources")


def check_attestations_complete(events: Sequence[IndexedEvent], allowed: set[str]) -> Check:
    """Every attester of the job attested before it was finalised (or released by a dispute)."""
    opened = _first(events, "JobOpened")
    subject = f"job {opened.args['jobId'] if opened else '?'} attestations"
    final = _first(events, "JobFinalized") or next(
        (e for e in events if e.event == "DisputeResolved" and e.args.get("released")), None
    )
    if final is None:
        return Check("attestations complete", subject, NOT_APPLICABLE, "the job was not finalised")
    signed = {str(e.args["signer"]).lower() for e in events if e.event == "AttestationRecorded" and _before(e, final)}
    missing = sorted(allowed - signed)
    if missing:
        return Check("attestations complete", subject, FAILED, f"finalised without the attestation of {missing}")
    return Check("attestations complete", subject, PASSED, f"{len(allowed)} attesters")


def _before(event: IndexedEvent, other: IndexedEvent) -> bool:
    return (event.block_number, event.log_index) < (other.block_number, other.log_index)


TermsAt = Callable[[int, IndexedEvent], "tuple[str, int] | None"]


class PayoutUnknown(Exception):
    """The payout cannot be derived from the events (why is the message)."""


def implied_credits(events: Sequence[IndexedEvent], terms_at: TermsAt) -> list[Credit] | None:
    """The credits the payout rule implies for a released job (None if the escrow was not released).

    `terms_at(source_id, event)` gives a source's (owner, price) as they stood just before `event`.
    Raises `PayoutUnknown` when the committed table or the terms cannot give an answer.
    """
    opened, released = _first(events, "JobOpened"), _first(events, "EscrowReleased")
    if opened is None or released is None:
        return None
    committed, finalized = _first(events, "ResultCommitted"), _first(events, "JobFinalized")
    if committed is None:
        raise PayoutUnknown("escrow released without a committed contribution table")
    weights = committed.args["weights"]
    table = bytes.fromhex(committed.args["utilityTableHash"][2:])
    if "0x" + contribution_hash(weights, table).hex() != committed.args["contributionHash"]:
        raise PayoutUnknown("contributionHash does not match the committed weights and table")
    terms = [terms_at(s, opened) for s in opened.args["sourceIds"]]
    if any(t is None for t in terms):
        raise PayoutUnknown("a source of the job is not in the index")
    escrow = released.args["amount"] if finalized is None else finalized.args["escrow"]
    try:
        return split(
            escrow,
            [t[0].lower() for t in terms if t],
            [t[1] for t in terms if t],
            weights,
            [p.lower() for p in opened.args["computeParties"]],
            opened.args["feeBps"],  # the fee fixed when the job opened, never the day's fee
        )
    except PayoutRuleError as exc:
        raise PayoutUnknown(f"the committed table breaks the payout rule: {exc}") from None


def source_share(events: Sequence[IndexedEvent], source_id: int, terms_at: TermsAt) -> int:
    """What the rule paid source `source_id` in this job (its own share, not its owner's total)."""
    try:
        credits = implied_credits(events, terms_at)
    except PayoutUnknown:
        return 0
    opened = _first(events, "JobOpened")
    if credits is None or opened is None or source_id not in opened.args["sourceIds"]:
        return 0
    reason = f"source #{opened.args['sourceIds'].index(source_id)}"
    return sum(c.amount for c in credits if c.reason == reason)


def check_payout(events: Sequence[IndexedEvent], terms_at: TermsAt) -> Check:
    """Credits emitted for the job equal what the payout rule implies from its committed table."""
    opened = _first(events, "JobOpened")
    subject = f"job {opened.args['jobId'] if opened else '?'} payout"
    credited = [(e.args["payee"].lower(), e.args["amount"]) for e in events if e.event == "PaymentCredited"]
    released = _first(events, "EscrowReleased")
    if opened is None or (released is None and not credited):
        return Check("payout", subject, NOT_APPLICABLE, "nothing settled yet")
    if released is None:
        return _check_refund(subject, opened, events, credited, terms_at)
    try:
        rule = implied_credits(events, terms_at) or []
    except PayoutUnknown as exc:
        return Check("payout", subject, FAILED, str(exc))
    return _compare(subject, [(c.payee, c.amount) for c in rule], credited)


def _check_refund(
    subject: str,
    opened: IndexedEvent,
    events: Sequence[IndexedEvent],
    credited: list[tuple[str, int]],
    terms_at: TermsAt,
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


def terms_from(events: Sequence[IndexedEvent]) -> TermsAt:
    """`terms_at` over a source's registration and terms events (in chain order)."""

    def at(source_id: int, before: IndexedEvent) -> tuple[str, int] | None:
        owner, price = None, 0
        for event in events:
            if event.args.get("sourceId") != source_id:
                continue
            if (event.block_number, event.log_index) >= (before.block_number, before.log_index):
                break
            owner, price = event.args.get("owner", owner), event.args["pricePerUse"]
        return None if owner is None else (owner, price)

    return at


def check_commitments(committed: IndexedEvent, table: object | None, leaves: Sequence[str] | None) -> list[Check]:
    """A utility table and transcript leaves, where held, against what ResultCommitted committed."""
    checks = []
    if table is not None:
        digest = keccak(json.dumps(table, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
        ok = "0x" + digest.hex() == committed.args["utilityTableHash"]
        detail = "matches utilityTableHash" if ok else "does not hash to the committed utilityTableHash"
        checks.append(Check("utility table", "utility table", PASSED if ok else FAILED, detail))
    if leaves is not None:
        root = merkle.MerkleTree.from_leaves([merkle.leaf_hash(bytes.fromhex(m[2:])) for m in leaves]).root
        ok = "0x" + root.hex() == committed.args["transcriptRoot"]
        detail = f"{len(leaves)} leaves" if ok else "the leaves do not give the committed transcriptRoot"
        checks.append(Check("transcript root", "transcript", PASSED if ok else FAILED, detail))
    return checks

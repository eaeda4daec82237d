"""Every verification check lands on the step it concerns; an unknown check is never dropped."""

from __future__ import annotations

from gateway.check_steps import attach
from ledger.audit.report import FAILED, PASSED, Check
from ledger.index.store import IndexedEvent

SIGNER = "0x" + "aa" * 20
OTHER = "0x" + "bb" * 20


def _event(name: str, block: int, **args: object) -> IndexedEvent:
    return IndexedEvent(
        block_number=block,
        log_index=0,
        tx_index=0,
        tx_hash=bytes(32),
        block_hash=bytes(32),
        block_time=0,
        address="0x" + "00" * 20,
        contract="JobLedger",
        event=name,
        actor=OTHER,
        args={"jobId": 7, **args},
        topics=(),
        data=b"",
    )


EVENTS = [
    _event("JobOpened", 1),
    _event("AttestationRecorded", 2, signer=OTHER),
    _event("AttestationRecorded", 3, signer=SIGNER),
    _event("JobFinalized", 4),
    _event("PaymentCredited", 4),
]


def test_attestation_payout_chain_and_unknown_checks_each_land_where_they_belong() -> None:
    checks = [
        Check("log in receipt", "JobOpened @ 1:0", PASSED),
        Check("attestation signature", f"job 7 attestation by {SIGNER}", FAILED, "signature recovers to 0x01"),
        Check("payout", "job 7 payout", PASSED, "4 credits"),
        Check("completeness", "job 7", FAILED, "a step is missing"),
    ]
    per_step, unattached = attach(EVENTS, checks)
    assert [c.name for c in per_step[0]] == ["log in receipt"]
    assert per_step[1] == []
    assert [(c.name, c.status) for c in per_step[2]] == [("attestation signature", FAILED)]
    assert [c.name for c in per_step[3]] == ["payout"]
    assert [c.name for c in unattached] == ["completeness"]  # no rule yet: shown for the whole job, not lost


def test_a_refund_puts_the_payout_check_on_the_cancellation() -> None:
    events = [_event("JobOpened", 1), _event("JobCancelled", 9), _event("PaymentCredited", 9)]
    per_step, unattached = attach(events, [Check("payout", "job 7 payout", PASSED)])
    assert [len(s) for s in per_step] == [0, 1, 0] and unattached == []


def test_a_block_without_a_seal_quorum_marks_every_step_in_that_block() -> None:
    quorum = Check("seal quorum", "block 4", FAILED, "sealed by 1 of 4 validators, quorum 3")
    per_step, unattached = attach(EVENTS, [quorum, Check("complete", "job 7", PASSED)])
    assert [len(s) for s in per_step] == [0, 0, 0, 1, 1]  # JobFinalized and PaymentCredited sit in block 4
    assert [c.name for c in unattached] == ["complete"]

"""Verification: untouched records pass; tampering, forged signatures, wrong proofs, bad payouts fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from ledger.anchor import Anchorer
from ledger.artifacts import load
from ledger.audit.evidence import check_attestation, check_payout, job_attestation
from ledger.audit.queries import AuditQueries
from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED
from ledger.audit.verify import Verifier
from ledger.client import TransactionSender, connect
from ledger.index import EventIndexer, EventStore
from tests.ledger.anchoring import RecordingChain, records
from tests.ledger.audit.anvil import anvil, funded_account
from tests.ledger.audit.conftest import P1, P2, C, R, write_history
from tests.ledger.audit.factory import ABIS, TERMS, make_event, node_verifier
from tests.ledger.beacon import ping


@pytest.fixture(scope="module")
def pinged(tmp_path_factory) -> Iterator[tuple[Verifier, EventStore, str]]:
    """Three real Beacon events on anvil, indexed."""
    with anvil() as url:
        w3 = connect(url)
        sender = TransactionSender(w3, funded_account(w3))
        beacon = sender.deploy(load("Beacon").bytecode).contract_address
        for _ in range(3):
            ping(sender, beacon, 1)
        store = EventStore(tmp_path_factory.mktemp("v") / "index.db")
        EventIndexer(w3, store, {"Beacon": (beacon, load("Beacon").abi)}).sync()
        yield node_verifier(w3, store, {"Beacon": load("Beacon").abi}, {"Beacon": beacon}), store, sender.address


def fresh(verifier: Verifier) -> Verifier:
    return verifier


def test_untampered_records_pass_and_seals_do_not_apply_on_anvil(pinged) -> None:
    verifier, store, member = pinged
    report = fresh(verifier).verify_member(member)
    summary = report.summary()
    assert report.ok and sum(summary["block time"].values()) == 3
    assert summary["seal quorum"] == {NOT_APPLICABLE: 3}  # anvil seals nothing: said, not passed
    roots = [c for c in report.checks if c.name == "block roots"]
    assert len(roots) == 3 and all(c.detail == "transactions and receipts roots" for c in roots)
    assert report.summary()["log in receipt"] == {PASSED: 3}
    one = fresh(verifier).verify_event(verifier.queries.member_trail(member).events[1])
    assert one.ok and one.subject.startswith("Pinged @ ") and one.summary()["log in receipt"] == {PASSED: 1}


@pytest.mark.parametrize(
    ("column", "value", "failed_check"),
    [
        ("args", '{"sender":"0x0000000000000000000000000000000000000001","count":99}', "record matches log"),
        ("data", b"\x00" * 31 + b"\x63", "log in receipt"),
        ("actor", "0x0000000000000000000000000000000000000002", "log in receipt"),
        ("block_hash", b"\x01" * 32, "block canonical"),
    ],
)
def test_a_tampered_record_in_the_local_index_is_reported_as_failed(pinged, column, value, failed_check) -> None:
    verifier, store, member = pinged
    original = store.conn.execute(f"SELECT {column} FROM events WHERE id = 2").fetchone()[0]
    store.conn.execute(f"UPDATE events SET {column} = ? WHERE id = 2", (value,))
    try:
        report = fresh(verifier).verify_member(member)
    finally:
        store.conn.execute(f"UPDATE events SET {column} = ? WHERE id = 2", (original,))
    assert not report.ok
    assert {(c.name, c.subject.split(" @ ")[1]) for c in report.failures} >= {(failed_check, "3:0")}
    assert all(c.subject.endswith("3:0") for c in report.failures)  # only the tampered record fails


def test_records_missing_from_the_chain_fail_without_crashing(pinged, tmp_path: Path) -> None:
    verifier, _, _ = pinged
    history = write_history(EventStore(tmp_path / "other.db"))
    report = node_verifier(verifier.view.nodes[0], history.store, ABIS, {}).verify_job(1)
    assert report.summary()["log in receipt"] == {FAILED: 13}
    assert report.summary()["payout"] == {PASSED: 1}


def test_a_payout_that_does_not_match_its_table_is_reported_as_failed(tmp_path: Path) -> None:
    good = write_history(EventStore(tmp_path / "good.db"))
    (payee, amount), rest = good.credits[0], good.credits[1:]
    bad = write_history(
        EventStore(tmp_path / "bad.db"), [(payee, amount + 1), *rest[:-1], (rest[-1][0], rest[-1][1] - 1)]
    )
    for history, expected in ((good, PASSED), (bad, FAILED)):
        queries = AuditQueries(history.store)
        check = check_payout(queries.job_trail(1).events, queries.source_terms_at)
        assert check.status == expected, check.detail
    assert "the payout rule implies" in check.detail


def _attested_job(participant: str) -> list:
    h = b"\x0a" * 32
    return [
        make_event(
            "JobOpened",
            participant,
            1,
            0,
            1,
            jobId=7,
            requester=participant,
            kind=0,
            sourceIds=[],
            versions=[],
            paramsHash=h,
            inputsHash=h,
            computeParties=[participant],
            budget=1,
            deadline=9,
            **TERMS,
        ),
        make_event(
            "ResultCommitted",
            participant,
            2,
            0,
            2,
            jobId=7,
            committer=participant,
            resultHash=h,
            transcriptRoot=h,
            contributionHash=h,
            weights=[1],
            utilityTableHash=h,
        ),
    ]


def test_a_forged_attestation_is_reported_as_failed() -> None:
    party, forger = Account.create(), Account.create()
    events = _attested_job(party.address)
    typed = job_attestation(events, 31337, "0x" + "22" * 20)
    assert typed is not None
    recorded = make_event(
        "AttestationRecorded", party.address, 3, 0, 3, jobId=7, signer=party.address, submitter=party.address
    )
    allowed = {party.address.lower()}
    sign = lambda account: typed[0].sign(bytes(account.key), typed[1])  # noqa: E731 - one line, used five times
    assert check_attestation(recorded, sign(party), typed, allowed).status == PASSED
    forged = check_attestation(recorded, sign(forger), typed, allowed)
    assert forged.status == FAILED and "not the signer" in forged.detail
    outsider = make_event(
        "AttestationRecorded", forger.address, 3, 1, 3, jobId=7, signer=forger.address, submitter=forger.address
    )
    assert "not a participant" in check_attestation(outsider, sign(forger), typed, allowed).detail
    assert check_attestation(recorded, b"\x01" * 64, typed, allowed).status == FAILED
    other_job = job_attestation(
        _attested_job(party.address)[:1]
        + [
            make_event(
                "ResultCommitted",
                party.address,
                2,
                0,
                2,
                jobId=7,
                committer=party.address,
                resultHash=b"\x0b" * 32,
                transcriptRoot=b"\x0a" * 32,
                contributionHash=b"\x0a" * 32,
                weights=[1],
                utilityTableHash=b"\x0a" * 32,
            )
        ],
        31337,
        "0x" + "22" * 20,
    )
    assert check_attestation(recorded, sign(party), other_job, allowed).status == FAILED


def test_a_wrong_proof_or_an_unanchored_root_is_reported_as_failed(pinged, tmp_path: Path) -> None:
    verifier, _, _ = pinged
    anchorer = Anchorer(tmp_path / "a.db", RecordingChain(), batch_size=4)
    anchorer.add_many(records(4))
    proof = anchorer.proof(2)
    report = fresh(verifier).verify_anchored(proof, anchorer.record(3))  # record 3's data, record 2's proof
    assert {c.name: c.status for c in report.checks} == {"merkle inclusion": FAILED, "root anchored": FAILED}
    assert fresh(verifier).verify_anchored(proof, anchorer.record(2)).summary()["merkle inclusion"] == {PASSED: 1}


def _aborted_after_ready(credits: list[tuple[str, int]]) -> list:
    """Job 9 on sources 1 (P1, price 100) and 2 (P2, price 50), Ready, then aborted by P2."""
    h = b"\x0b" * 32
    opened = {
        "jobId": 9,
        "requester": R,
        "kind": 0,
        "sourceIds": [1, 2],
        "versions": [1, 1],
        "paramsHash": h,
        "inputsHash": h,
    }
    events = [
        make_event("JobOpened", R, 1, 0, 1, **opened, computeParties=[C], budget=1000, deadline=9, **TERMS),
        make_event("JobReady", P2, 2, 0, 2, jobId=9),
        make_event("JobAborted", P2, 3, 0, 3, jobId=9, by=P2, reason=h),
    ]
    events += [
        make_event("PaymentCredited", P2, 3, 1 + i, 3, jobId=9, payee=p, amount=a) for i, (p, a) in enumerate(credits)
    ]
    return events


def test_an_abort_after_ready_must_pay_the_other_owners_prices_before_the_refund() -> None:
    terms = {1: (P1, 100), 2: (P2, 50)}
    priced = check_payout(_aborted_after_ready([(P1, 100), (R, 900)]), lambda s, _: terms[s])
    assert priced.status == PASSED, priced.detail
    whole = check_payout(_aborted_after_ready([(R, 1000)]), lambda s, _: terms[s])
    assert whole.status == FAILED and "the payout rule implies" in whole.detail


def test_nodes_agree_on_the_same_answer_spelled_differently_but_not_on_a_different_byte() -> None:
    from ledger.audit.chainview import canonical

    plain = {
        "address": "0xabcdef0000000000000000000000000000000001",
        "topics": ["0x" + "ab" * 32],
        "data": "0x00ff",
        "blockNumber": "0xa",
        "logIndex": "0x0",
    }
    embedded = {  # the same log as the embedded node spells it, with the extensions anvil also sends
        **plain,
        "address": "0xAbCdEf0000000000000000000000000000000001",
        "topics": ["0x" + "AB" * 32],
        "blockNumber": "0x0a",
        "blockTimestamp": "0x65",
        "removed": False,
    }
    assert canonical([embedded]) == canonical([plain])
    for field, lie in (
        ("data", "0x0000ff"),
        ("topics", ["0x" + "ac" * 32]),
        ("blockNumber", "0xb"),
        ("logIndex", "0x1"),
    ):
        assert canonical([plain]) != canonical([{**plain, field: lie}]), field

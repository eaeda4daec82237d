"""Evidence records are signed by their reporter: a forged, altered or misfiled record is not reported."""

from __future__ import annotations

import json
from dataclasses import replace

from eth_keys import keys

from ledger.consensus.evidence import read_evidence
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import Evidence
from ledger.consensus.mirror import View

CHAIN_ID = 727_099
REPORTER = keys.PrivateKey(b"\x31" * 32)
OTHER = keys.PrivateKey(b"\x32" * 32)
OFFENDER = b"\x99" * 20


def _filed(view: View, evidence: Evidence, under: keys.PrivateKey) -> None:
    key = Keyspace(CHAIN_ID).evidence(
        under.public_key.to_canonical_address(), evidence.kind, evidence.height, evidence.round, OFFENDER
    )
    view.evidence[key] = evidence.to_bytes()


def test_a_record_signed_by_its_reporter_is_reported_and_names_both() -> None:
    view = View()
    evidence = Evidence.make(REPORTER, CHAIN_ID, "equivocation", OFFENDER, 7, 1, "sealed 2 blocks")
    _filed(view, evidence, REPORTER)

    (found,) = read_evidence(view, CHAIN_ID)

    assert found == evidence
    assert found.reporter == "0x" + REPORTER.public_key.to_canonical_address().hex()
    assert found.offender == "0x" + OFFENDER.hex()


def test_a_record_altered_after_signing_or_for_another_chain_is_dropped() -> None:
    evidence = Evidence.make(REPORTER, CHAIN_ID, "invalid-proposal", OFFENDER, 3, 0, "wrong state root")
    altered, other_chain = View(), View()
    _filed(altered, replace(evidence, height=4), REPORTER)
    _filed(other_chain, evidence, REPORTER)

    assert read_evidence(altered, CHAIN_ID) == []
    assert read_evidence(other_chain, CHAIN_ID + 1) == []


def test_one_organisation_cannot_report_in_anothers_name() -> None:
    forged = Evidence.make(OTHER, CHAIN_ID, "equivocation", OFFENDER, 5, 0, "made up")
    claims_reporter = replace(forged, reporter="0x" + REPORTER.public_key.to_canonical_address().hex())
    misfiled, renamed, unsigned = View(), View(), View()
    _filed(misfiled, forged, REPORTER)
    _filed(renamed, claims_reporter, REPORTER)
    _filed(unsigned, replace(forged, signature=""), OTHER)

    assert read_evidence(misfiled, CHAIN_ID) == []
    assert read_evidence(renamed, CHAIN_ID) == []
    assert read_evidence(unsigned, CHAIN_ID) == []
    assert json.loads(forged.to_bytes())["signature"].startswith("0x")

"""compute.bundle: a result bundle lets anyone recompute transcriptRoot and the weights; tampering shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compute.bundle import result_bundle, transcript_root, verify_bundle
from compute.contribution import UtilityTable, derive_report
from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG
from compute.jobs.kinds import KINDS, Plan, verified_bundle
from compute.jobs.vertical import PROTOCOL as VERTICAL
from compute.result import canonical_json, hash_result
from compute.session import PartyOutcome
from compute.transcript import Transcript, TranscriptEntry
from ledger.protocol import contribution_hash

OWNERS = ["0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20]


def _table() -> UtilityTable:
    # The guest (0) alone is worth 0.70; host 1 adds 0.10, host 2 adds 0.02; no guest, no model (0.5).
    values = {(): 0.5, (0,): 0.7, (1,): 0.5, (2,): 0.5, (0, 1): 0.8, (0, 2): 0.72, (1, 2): 0.5, (0, 1, 2): 0.82}
    return UtilityTable(tuple(OWNERS), "validation-auc", {frozenset(k): v for k, v in values.items()})


def _transcript() -> Transcript:
    return Transcript.of(
        TranscriptEntry(OWNERS[i % 3], OWNERS[(i + 1) % 3], i, f"step-{i}", bytes([i]) * 32) for i in range(7)
    )


def _vertical_outcome(section: dict[str, Any]) -> PartyOutcome:
    result = {"auc": 0.82, "model_commitments": {}, "contribution": section}
    return PartyOutcome(OWNERS[1], {"result": result}, hash_result(result), _transcript(), {"rows": 240})


def _bundle(section: dict[str, Any] | None = None) -> dict[str, Any]:
    section = section or derive_report(_table(), OWNERS).to_json()
    outcome = _vertical_outcome(section)
    return result_bundle(7, VERTICAL, outcome, 3, section, outcome.value["result"], True)


def test_an_honest_bundle_checks_and_still_checks_after_a_json_round_trip() -> None:
    bundle = _bundle()

    assert verify_bundle(bundle) == []
    assert verify_bundle(json.loads(canonical_json(bundle))) == []
    assert bundle["transcript_root"] == "0x" + _transcript().root.hex()
    assert transcript_root(bundle["transcript_leaves"]) == _transcript().root
    assert bundle["weights"] == [812500, 156250, 31250]  # Shapley 0.26, 0.05, 0.01 of 0.32, in parts per million


def test_a_guest_that_moves_weight_to_itself_is_caught_even_with_consistent_hashes() -> None:
    section = derive_report(_table(), OWNERS).to_json()
    inflated = [900000, 80000, 20000]
    section |= {"weights": inflated, "contribution_hash": "0x" + contribution_hash(inflated, _table().digest()).hex()}

    problems = verify_bundle(_bundle(section))

    assert problems == [
        "weights [900000, 80000, 20000] do not follow from the utility table: the rule gives [812500, 156250, 31250]"
    ]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda b: b["transcript_leaves"].pop(3), "the transcript leaves do not give transcript_root"),
        (lambda b: b["result"].update(auc=0.99), "result_hash is not the hash of the result"),
        (lambda b: b["contribution"]["utility_table"]["entries"][-1].__setitem__(1, 0.9), "utility_table_hash is not"),
        (lambda b: b.update(contribution_hash="0x" + "00" * 32), "contribution_hash is not the hash"),
        (lambda b: b.update(weights=[1, 1, 1]), "the weights or table hash differ from the contribution section's"),
    ],
    ids=["leaf-dropped", "result-edited", "table-edited", "contribution-hash", "weights-swapped"],
)
def test_every_tampered_field_is_named(tamper, problem: str) -> None:
    bundle = json.loads(canonical_json(_bundle()))

    tamper(bundle)

    assert any(p.startswith(problem) for p in verify_bundle(bundle)), verify_bundle(bundle)


def test_an_equal_split_bundle_needs_unit_weights_and_a_zero_table_hash() -> None:
    outcome = PartyOutcome(OWNERS[0], ["id-1"], b"\x01" * 32, _transcript(), {})
    bundle = result_bundle(3, "psi", outcome, 2, None)

    assert verify_bundle(bundle) == [] and bundle["weights"] == [1, 1] and bundle["result"] is None
    bundle["weights"] = [2, 1]
    assert "without a utility table the weights must all be 1 and the table hash zero" in verify_bundle(bundle)


def test_a_malformed_bundle_is_a_problem_not_a_crash() -> None:
    assert verify_bundle({"transcript_root": "0x12"})[0].startswith("the bundle does not parse")
    bundle = _bundle()
    bundle["contribution"] = {"weights": "many"}
    assert any("does not parse" in p for p in verify_bundle(bundle))


def test_an_attester_refuses_a_table_split_by_owners_or_a_tolerance_that_are_not_the_jobs() -> None:
    kind = KINDS[VERTICAL]
    plan = Plan(VERTICAL, tuple(OWNERS), None, (0, 1, 2), 1e-9)
    merged = derive_report(_table(), [OWNERS[0], OWNERS[1], OWNERS[1]]).to_json()  # hosts 1 and 2 "one owner"
    loose = derive_report(_table(), OWNERS, tolerance=0.5).to_json()  # everything a "replica"

    assert verified_bundle(kind, plan, 7, _vertical_outcome(derive_report(_table(), OWNERS).to_json()), OWNERS)[1] == []
    assert (
        "the owners the weights were split by are not the job's sources' owners"
        in verified_bundle(kind, plan, 7, _vertical_outcome(merged), OWNERS)[1]
    )
    assert (
        "replica tolerance 0.5 is not the job's 1e-09"
        in verified_bundle(kind, plan, 7, _vertical_outcome(loose), OWNERS)[1]
    )


def test_a_fedavg_client_checks_the_aggregators_table_the_same_way() -> None:
    kind = KINDS[FEDAVG]
    plan = Plan(FEDAVG, tuple(OWNERS), None, (0, 1, 2), 0.005)
    honest = derive_report(_table(), OWNERS, 0.005).to_json()
    skewed = honest | {"weights": [1, 1, 999998]}
    skewed["contribution_hash"] = "0x" + contribution_hash([1, 1, 999998], _table().digest()).hex()

    def client(section: dict[str, Any]) -> PartyOutcome:  # what a client keeps: the final model and the table
        return PartyOutcome(OWNERS[0], {"model": [0.0], "contribution": section}, b"\x02" * 32, _transcript(), {})

    bundle, problems = verified_bundle(kind, plan, 9, client(honest), OWNERS)
    assert problems == [] and bundle is not None and bundle["result"] is None
    assert any(
        "do not follow from the utility table" in p for p in verified_bundle(kind, plan, 9, client(skewed), OWNERS)[1]
    )
    assert verified_bundle(kind, plan, 9, client({}), OWNERS) == (
        None,
        ["this party's run holds no contribution table to check the weights against"],
    )


def test_one_owner_spelled_two_ways_still_counts_once() -> None:
    copy = {frozenset(k): v for k, v in _table().values.items()}  # host 2 becomes an exact copy of host 1
    for coalition in list(copy):
        held = {1 if k == 2 else k for k in coalition}
        copy[coalition] = _table().values[frozenset(held)]
    table = UtilityTable(tuple(OWNERS), "validation-auc", copy)

    honest = derive_report(table, [OWNERS[0], OWNERS[1], OWNERS[1]])
    spelled = derive_report(table, [OWNERS[0], OWNERS[1], OWNERS[1].upper().replace("0X", "0x")])

    assert spelled.weights == honest.weights and honest.weights[1] == honest.weights[2]


def test_a_guest_that_scores_the_hosts_alone_below_chance_is_caught_by_the_tables_form() -> None:
    # Weights that do follow from the table, but a table no hetero-LR run measures: hosts alone below ½.
    values = dict(_table().values) | {frozenset({1}): 0.3, frozenset({2}): 0.3, frozenset({1, 2}): 0.3}
    talked_down = derive_report(UtilityTable(tuple(OWNERS), "validation-auc", values), OWNERS).to_json()
    plan = Plan(VERTICAL, tuple(OWNERS), None, (0, 1, 2), 1e-9)

    bundle, problems = verified_bundle(KINDS[VERTICAL], plan, 7, _vertical_outcome(talked_down), OWNERS)

    assert bundle is not None and verify_bundle(bundle) == []  # the arithmetic alone is fine ...
    assert problems == ["a coalition without the guest is not worth exactly 0.5"]  # ... the table's form is not

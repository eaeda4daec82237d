"""compute.jobs.kinds: a parameter document runs only the kind the chain recorded for the job."""

from __future__ import annotations

import pytest

from compute.errors import InvalidInput
from compute.jobs.kinds import KINDS, kind_of
from compute.jobs.vertical import PROTOCOL as VERTICAL_PROTOCOL
from ledger.protocol import JobKind


def test_every_runnable_protocol_is_one_distinct_chain_kind() -> None:
    assert sorted(kind.chain_kind for kind in KINDS.values()) == [
        JobKind.PSI,
        JobKind.SECURE_STATS,
        JobKind.FEDAVG,
        JobKind.HETERO_LR,
    ]
    for kind in KINDS.values():
        assert kind_of({"protocol": kind.protocol}, kind.chain_kind) is kind


def test_a_psi_job_whose_parameters_ask_for_hetero_lr_is_refused() -> None:
    # A requester opens a PSI job (the providers consent to PSI) but serves a hetero-LR document.
    with pytest.raises(InvalidInput, match="asks? for .*HETERO_LR.*but the job is a PSI job on chain"):
        kind_of({"protocol": VERTICAL_PROTOCOL}, JobKind.PSI)


def test_an_unknown_protocol_is_refused() -> None:
    with pytest.raises(InvalidInput, match="cannot run 'mystery'"):
        kind_of({"protocol": "mystery"}, JobKind.PSI)

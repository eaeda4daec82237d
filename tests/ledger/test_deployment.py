"""ledger.deployment: deployment.json round-trips, and a malformed or missing one is a DeploymentError naming why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.deployment import CONTRACTS, Deployment
from ledger.errors import DeploymentError

ADDRESSES = {name: "0x" + f"{i + 1:02x}" * 20 for i, name in enumerate(CONTRACTS)}


def test_deployment_round_trips_and_names_the_six_contracts(tmp_path: Path) -> None:
    deployment = Deployment(31337, ADDRESSES, block_number=9)
    assert Deployment.from_json(deployment.to_json()) == deployment
    assert list(deployment.addresses) == list(CONTRACTS) and deployment.job_ledger == deployment.address("JobLedger")
    (tmp_path / "deployment.json").write_text(Deployment(31337, ADDRESSES, 9, start_block=4).to_json())
    assert Deployment.load(tmp_path / "deployment.json").start_block == 4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "no 'contracts' object"),
        ('{"chainId": 1, "blockNumber": 1, "contracts": {}}', "names no Consortium, CustosToken"),
        ('{"chainId": "1", "contracts": ' + str(ADDRESSES).replace("'", '"') + "}", "chainId '1'"),
        ('{"chainId": 1, "contracts": ' + str({**ADDRESSES, "JobLedger": "0x12"}).replace("'", '"') + "}", "JobLedger"),
        ('{"chainId": 1, "blockNumber": -1, "contracts": ' + str(ADDRESSES).replace("'", '"') + "}", "block_number"),
    ],
)
def test_a_malformed_deployment_names_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(DeploymentError, match=reason):
        Deployment.from_json(text)


def test_a_missing_deployment_file_is_a_deployment_error(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="no deployment file at"):
        Deployment.load(tmp_path / "nope.json")
    with pytest.raises(DeploymentError, match="has no Beacon"):
        Deployment(1, ADDRESSES).address("Beacon")

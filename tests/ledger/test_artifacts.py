"""The committed artifacts are what solc-js makes of the committed sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from ledger import artifacts


def test_committed_artifacts_match_a_fresh_compile() -> None:
    # Arrange / Act
    stale = artifacts.stale_contracts()
    # Assert
    assert stale == [], f"stale artifacts, run 'python -m ledger.artifacts build': {stale}"


def test_stale_check_names_a_contract_edited_without_rebuilding(tmp_path: Path) -> None:
    # Arrange: a copy of the contracts folder with one source edited.
    contracts = tmp_path / "contracts"
    shutil.copytree(artifacts.CONTRACTS_DIR / "src", contracts / "src")
    (contracts / "node_modules").symlink_to(artifacts.CONTRACTS_DIR / "node_modules")
    beacon = contracts / "src" / "Beacon.sol"
    source = beacon.read_text()
    beacon.write_text(source.replace("_count += step;", "_count += step + 1;"))
    # Act
    stale = artifacts.stale_contracts(contracts_dir=contracts)
    # Assert
    assert stale == ["Beacon"]


def test_loaded_artifact_carries_abi_and_bytecode() -> None:
    beacon = artifacts.load("Beacon")
    names = {entry.get("name") for entry in beacon.abi}
    assert {"ping", "count", "Pinged", "BeaconZeroStep"} <= names
    assert beacon.bytecode.endswith(beacon.deployed_bytecode[-32:])
    assert len(beacon.deployed_bytecode) < len(beacon.bytecode)


def test_unknown_artifact_is_a_clear_error() -> None:
    try:
        artifacts.load("NoSuchContract")
    except artifacts.ArtifactError as exc:
        assert "NoSuchContract" in str(exc) and "Beacon" in str(exc)
    else:
        raise AssertionError("loading an unknown artifact must fail")

"""`custos chain init|status|allowlist` and `custos deploy`, end to end on real nodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custos.cli import app
from ledger.chain.errors import NotPermitted
from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from ledger.chain.setup import validator_key
from ledger.keystore import DEV_PASSWORD, Keystore
from tests.backends import anvil

runner = CliRunner()


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "chain"
    result = runner.invoke(app, ["chain", "init", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_init_deploys_the_contracts_and_closes_bootstrapping(chain_dir: Path) -> None:
    deployment = json.loads((chain_dir / "deployment.json").read_text())
    assert deployment["chainId"] == 727_027
    assert set(deployment["contracts"]) == {
        "Consortium",
        "CustosToken",
        "DataRegistry",
        "Settlement",
        "JobLedger",
        "AuditAnchor",
    }
    deployer = Keystore(chain_dir / "keystore").unlock("deployer", DEV_PASSWORD)
    node = Node.open(chain_dir, validator_key(chain_dir, None))
    try:
        assert node.permission.membership == bytes.fromhex(deployment["contracts"]["Consortium"][2:])
        tx = deployer.sign_transaction(
            {"chainId": node.chain_id, "nonce": 6, "gas": 21_000, "gasPrice": 0, "to": deployer.address, "value": 0}
        )
        with pytest.raises(NotPermitted):
            node.submit_raw(tx.raw_transaction)
    finally:
        node.close()


def test_status_and_allowlist_read_the_running_node(chain_dir: Path, tmp_path: Path) -> None:
    node = Node.open(chain_dir, validator_key(chain_dir, None))
    server = ChainServer(node, port=0)
    server.start()
    try:
        status = runner.invoke(app, ["chain", "status", "--rpc", server.url])
        assert status.exit_code == 0, status.output
        info = json.loads(status.output)
        members = sorted(json.loads((chain_dir / "consortium.json").read_text())["addresses"].values())
        assert info["sealOk"] and info["height"] == 6 and sorted(info["members"]) == members
        out = tmp_path / "permissions_config.toml"
        listed = runner.invoke(
            app,
            [
                "chain",
                "allowlist",
                "--format",
                "besu",
                "--rpc",
                server.url,
                "--deployment",
                str(chain_dir / "deployment.json"),
                "--out",
                str(out),
            ],
        )
        assert listed.exit_code == 0, listed.output
        assert all(f'"{m}"' in out.read_text() for m in members) and "accounts-allowlist=[" in out.read_text()
    finally:
        server.stop()
        node.close()


def test_deploy_puts_the_same_consortium_on_anvil(chain_dir: Path, tmp_path: Path) -> None:
    deployer = Keystore(chain_dir / "keystore").address("deployer")
    with anvil([]) as w3:
        w3.provider.make_request("anvil_setBalance", [deployer, hex(10**20)])
        out = tmp_path / "deployment.json"
        result = runner.invoke(
            app,
            [
                "deploy",
                "--rpc",
                w3.provider.endpoint_uri,
                "--consortium",
                str(chain_dir / "consortium.json"),
                "--keystore",
                str(chain_dir / "keystore"),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["chainId"] == 31337


def test_init_refuses_a_consortium_file_with_unknown_roles(tmp_path: Path) -> None:
    bad = tmp_path / "consortium.json"
    bad.write_text(json.dumps({"organisations": [{"name": "x", "roles": ["KING", "VALIDATOR"]}]}))
    result = runner.invoke(
        app, ["chain", "init", str(tmp_path / "c"), "--consortium", str(bad)], env={"CUSTOS_KEYSTORE_PASSWORD": "pw"}
    )
    assert result.exit_code == 1 and "unknown roles ['KING']" in result.output

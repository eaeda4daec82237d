"""`custos audit --chain DIR`: with no node at --rpc, the embedded chain is opened in-process and its seals verify."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from custos.cli import app
from tests.ledger.audit.anvil import nowhere_url


def test_audit_member_on_an_embedded_chain_directory_verifies_seals(tmp_path: Path) -> None:
    runner = CliRunner()
    chain = tmp_path / "chain"
    assert runner.invoke(app, ["chain", "init", str(chain)]).exit_code == 0
    bank = json.loads((chain / "consortium.json").read_text())["addresses"]["bank"]
    nowhere = nowhere_url()
    result = runner.invoke(app, ["audit", "member", bank, "--chain", str(chain), "--rpc", nowhere, "--verify"])
    assert result.exit_code == 0, result.output
    assert "MemberAdded" in result.output and "bank" in result.output
    assert "seal " in result.output and "failed" not in result.output
    assert (chain / "audit-index.db").exists()
    bad = runner.invoke(app, ["audit", "member", "0x12", "--chain", str(chain), "--rpc", nowhere])
    assert bad.exit_code == 2 and "not an address" in bad.output
    bad_filter = runner.invoke(app, ["audit", "job", "0", "--chain", str(chain), "--rpc", nowhere, "--status", "Done"])
    assert bad_filter.exit_code == 2 and "unknown job status" in bad_filter.output

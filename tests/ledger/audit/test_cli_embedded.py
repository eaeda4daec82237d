"""`custos audit --chain DIR`: with no node at --rpc, the embedded chain is opened in-process and its seals verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from custos.cli import app
from tests.ledger.audit.anvil import nowhere_url
from tests.ledger.index.read_only import read_only_file


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


def test_a_genesis_member_without_a_member_added_event_is_named_from_deployment_json(tmp_path: Path) -> None:
    """As on a consortium bundle chain, whose genesis allocates the members: no MemberAdded names the bank."""
    runner, chain, nowhere = CliRunner(), tmp_path / "chain", nowhere_url()
    assert runner.invoke(app, ["chain", "init", str(chain)]).exit_code == 0
    bank = json.loads((chain / "consortium.json").read_text())["addresses"]["bank"]
    audit = ["audit", "member", bank, "--chain", str(chain), "--rpc", nowhere]
    assert f"member {bank} (bank)" in runner.invoke(app, audit).output  # indexes, and names it by its event
    with sqlite3.connect(chain / "audit-index.db") as db:
        db.execute("DELETE FROM links WHERE event_id IN (SELECT id FROM events WHERE event = 'MemberAdded')")
        db.execute("DELETE FROM events WHERE event = 'MemberAdded'")
    deployment = json.loads((chain / "deployment.json").read_text())
    deployment["genesis"]["members"] = {bank: "Genesis Bank"}
    (chain / "deployment.json").write_text(json.dumps(deployment))
    named = runner.invoke(app, [*audit, "--no-sync"])
    assert named.exit_code == 0 and f"member {bank} (Genesis Bank)" in named.output, named.output
    deployment["genesis"]["members"] = [bank]
    (chain / "deployment.json").write_text(json.dumps(deployment))
    malformed = runner.invoke(app, [*audit, "--no-sync"])
    assert malformed.exit_code == 1 and "genesis.members must map each address to a name" in malformed.output
    assert isinstance(malformed.exception, SystemExit)  # an exit code, not an exception escaping


def test_a_read_only_auditor_reads_an_index_from_an_older_version_without_a_traceback(tmp_path: Path) -> None:
    runner, chain, nowhere = CliRunner(), tmp_path / "chain", nowhere_url()
    assert runner.invoke(app, ["chain", "init", str(chain)]).exit_code == 0
    bank = json.loads((chain / "consortium.json").read_text())["addresses"]["bank"]
    audit = ["audit", "member", bank, "--chain", str(chain), "--rpc", nowhere, "--verify"]
    first = runner.invoke(app, audit)
    assert first.exit_code == 0, first.output
    with sqlite3.connect(chain / "audit-index.db") as db:  # as an index written before job_facts
        db.execute("DELETE FROM job_facts")
        db.execute("DELETE FROM meta WHERE key = 'job_facts'")
    with read_only_file(chain / "audit-index.db"):
        answered = runner.invoke(app, [*audit, "--no-sync"])
        refused = runner.invoke(app, audit)
    assert answered.exit_code == 0 and answered.output == first.output, answered.output
    assert refused.exit_code == 1 and "is read-only: answer from it as it is with --no-sync" in refused.output
    assert isinstance(refused.exception, SystemExit)  # an exit code, not an exception escaping

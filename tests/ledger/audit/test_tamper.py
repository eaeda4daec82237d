"""The tamper matrix: edits to the index, to the chain store, and a validator's rewrite, each caught.

Every case runs the real CLI on a sealed chain directory with a finalised job and expects
exit status 3 and a `✗ <subject>: <check>: …` line naming the check that caught it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lmdb
import pytest
from typer.testing import CliRunner, Result

from custos.cli import app
from ledger.audit.evidence import implied_credits
from ledger.audit.queries import AuditQueries
from ledger.chain.node import SEAL_PREFIX, Node
from ledger.chain.server import ChainServer
from ledger.protocol import contribution_hash
from tests.ledger.audit.anvil import nowhere_url
from tests.ledger.audit.sealed import SealedJob, copy_chain, rewrite_from, run_job

NOWHERE = nowhere_url()


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> SealedJob:
    job = run_job(tmp_path_factory.mktemp("sealed") / "chain")
    assert audit(job.chain, "job", "0", "--verify").exit_code == 0  # builds the index once
    return job


@pytest.fixture
def chain(sealed: SealedJob, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the sealed chain directory and its index, to tamper with."""
    target = copy_chain(sealed.chain, tmp_path / "chain")
    shutil.copy(sealed.chain / "audit-index.db", target / "audit-index.db")
    yield target


def audit(chain: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["audit", *args, "--chain", str(chain), "--rpc", NOWHERE])


def caught(result: Result, check: str) -> list[str]:
    """The `✗` lines naming `check`; the run must have exited 3."""
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip().startswith("✗") and f": {check}:" in line]
    assert lines, f"no ✗ line names {check!r}:\n{result.output}"
    return lines


def sql(chain: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(chain / "audit-index.db") as db:
        db.execute(statement, params)


def event_id(chain: Path, name: str, nth: int = 0) -> int:
    with sqlite3.connect(chain / "audit-index.db") as db:
        rows = db.execute("SELECT id FROM events WHERE event = ? ORDER BY id", (name,)).fetchall()
    return int(rows[nth][0])


def _delete(name: str) -> Callable[[Path], None]:
    def tamper(chain: Path) -> None:
        row = event_id(chain, name)
        sql(chain, "DELETE FROM links WHERE event_id = ?", row)
        sql(chain, "DELETE FROM events WHERE id = ?", row)

    return tamper


def _unlink(name: str) -> Callable[[Path], None]:
    return lambda chain: sql(chain, "DELETE FROM links WHERE kind = 'job' AND event_id = ?", event_id(chain, name))


def _back_date(chain: Path) -> None:
    sql(chain, "UPDATE events SET block_time = block_time - 86400 WHERE id = ?", event_id(chain, "JobFinalized"))


def _edit_amount(chain: Path) -> None:
    row = event_id(chain, "PaymentCredited")
    with sqlite3.connect(chain / "audit-index.db") as db:
        args = json.loads(db.execute("SELECT args FROM events WHERE id = ?", (row,)).fetchone()[0])
        args["amount"] += 1
        db.execute("UPDATE events SET args = ? WHERE id = ?", (json.dumps(args), row))


def _reorder(chain: Path) -> None:
    """Two attestations swap places (their chain positions)."""
    a, b = event_id(chain, "AttestationRecorded", 0), event_id(chain, "AttestationRecorded", 1)
    with sqlite3.connect(chain / "audit-index.db") as db:
        (pa,) = db.execute("SELECT block_number FROM events WHERE id = ?", (a,)).fetchall()
        (pb,) = db.execute("SELECT block_number FROM events WHERE id = ?", (b,)).fetchall()
        db.execute("UPDATE events SET block_number = -1 WHERE id = ?", (a,))
        db.execute("UPDATE events SET block_number = ? WHERE id = ?", (pa[0], b))
        db.execute("UPDATE events SET block_number = ? WHERE id = ?", (pb[0], a))


def _link_foreign(chain: Path) -> None:
    """An unrelated event (a member's admission) linked into job 0."""
    sql(chain, "INSERT INTO links VALUES ('job', '0', ?)", event_id(chain, "MemberAdded"))


def _insert(chain: Path) -> None:
    """A copy of a credit inserted at an unused position."""
    row = event_id(chain, "PaymentCredited")
    with sqlite3.connect(chain / "audit-index.db") as db:
        columns = "block_number, log_index, tx_index, tx_hash, block_hash, block_time, address, contract, event, actor"
        columns += ", args, topics, data"
        db.execute(
            f"INSERT INTO events ({columns}) SELECT block_number, log_index + 100, tx_index, tx_hash, block_hash,"
            f" block_time, address, contract, event, actor, args, topics, data FROM events WHERE id = ?",
            (row,),
        )
        new = db.execute("SELECT max(id) FROM events").fetchone()[0]
        db.execute("INSERT INTO links SELECT kind, key, ? FROM links WHERE event_id = ?", (new, row))


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        (_delete("AttestationRecorded"), "complete"),
        (_delete("AttestationRecorded"), "attestations complete"),
        (_delete("ConsentGiven"), "consents complete"),
        (_unlink("JobFinalized"), "complete"),
        (_back_date, "block time"),
        (_edit_amount, "record matches log"),
        (_edit_amount, "payout"),
        (_reorder, "log in receipt"),
        (_link_foreign, "foreign event"),
        (_insert, "log in receipt"),
    ],
    ids=[
        "attestation-deleted",
        "attestation-deleted-attesters",
        "consent-deleted",
        "finalized-unlinked",
        "time-back-dated",
        "amount-edited",
        "amount-edited-payout",
        "rows-reordered",
        "foreign-event-linked",
        "row-inserted",
    ],
)
def test_an_edited_index_is_caught_by_job_verification(chain: Path, tamper: Callable[[Path], None], check: str) -> None:
    tamper(chain)
    caught(audit(chain, "job", "0", "--verify", "--no-sync"), check)


def test_a_members_deleted_credit_is_caught_by_completeness_and_credit_of(chain: Path, sealed: SealedJob) -> None:
    bank = sealed.accounts["bank"].address
    _delete("PaymentCredited")(chain)
    result = audit(chain, "member", bank, "--verify", "--no-sync")
    caught(result, "complete")
    assert any("creditOf" in line for line in caught(result, "credit balance"))


def _store_edit(chain: Path, edit: Callable[[bytes, bytes], bytes | None]) -> int:
    """Apply `edit(key, value)` to every LMDB entry (None: leave it); returns how many changed."""
    env = lmdb.open(str(chain / "chain.lmdb"), max_dbs=0, map_size=1 << 36)
    changed = 0
    with env.begin(write=True) as txn:
        for key, value in list(txn.cursor()):
            new = edit(bytes(key), bytes(value))
            if new is not None and new != value:
                txn.put(key, new)
                changed += 1
    env.close()
    return changed


def _credit_word(chain: Path) -> tuple[int, bytes]:
    with sqlite3.connect(chain / "audit-index.db") as db:
        row, data = db.execute(
            "SELECT id, data FROM events WHERE event = 'PaymentCredited' ORDER BY id LIMIT 1"
        ).fetchone()
    return row, bytes(data)


def test_a_receipt_edited_in_the_store_with_its_index_row_is_refused_by_the_store(chain: Path) -> None:
    row, data = _credit_word(chain)
    forged = (int.from_bytes(data, "big") + 1).to_bytes(32, "big")
    assert _store_edit(chain, lambda k, v: v.replace(data, forged) if data in v and len(v) > 100 else None) >= 1
    with sqlite3.connect(chain / "audit-index.db") as db:  # the index agrees with the forged receipt
        args = json.loads(db.execute("SELECT args FROM events WHERE id = ?", (row,)).fetchone()[0])
        args["amount"] += 1
        db.execute("UPDATE events SET data = ?, args = ? WHERE id = ?", (forged, json.dumps(args), row))
    # The embedded node checks every trie node it reads against its hash (ledger.chain.store),
    # so the edited receipt is refused before the audit's own receipts-root check sees it.
    lines = caught(audit(chain, "job", "0", "--verify", "--no-sync"), "chain store")
    assert any("store corrupted" in line for line in lines)


def test_a_seal_edited_in_the_store_fails_the_chain_on_open(chain: Path) -> None:
    def flip(key: bytes, value: bytes) -> bytes | None:
        return value[:10] + bytes([value[10] ^ 1]) + value[11:] if key.startswith(SEAL_PREFIX) else None

    assert _store_edit(chain, flip) > 0
    caught(audit(chain, "job", "0", "--verify", "--no-sync"), "chain store")


def test_a_header_edited_in_the_store_fails_the_chain_on_open(chain: Path, sealed: SealedJob) -> None:
    import rlp

    def later(key: bytes, value: bytes) -> bytes | None:
        try:
            fields = rlp.decode(value)
        except Exception:  # noqa: BLE001 - most values are not headers
            return None
        if isinstance(fields, list) and len(fields) >= 15 and int.from_bytes(fields[8], "big") == 12:
            fields[11] = (int.from_bytes(fields[11], "big") - 3600).to_bytes(4, "big")  # back-dated
            return rlp.encode(fields)
        return None

    assert _store_edit(chain, later) >= 1
    caught(audit(chain, "job", "0", "--verify", "--no-sync"), "chain store")


def test_one_validator_rewrites_block_12_and_a_saved_checkpoint_catches_it(chain: Path, sealed: SealedJob) -> None:
    saved = CliRunner().invoke(app, ["audit", "checkpoint", "save", "--chain", str(chain), "--rpc", NOWHERE])
    assert saved.exit_code == 0 and "sealed by 1 of 1" in saved.output, saved.output
    rewrite_from(chain, 12, sealed.accounts["bank"])
    caught(audit(chain, "job", "0", "--verify"), "history unchanged")  # the indexer refuses the new history
    accepted = audit(chain, "job", "0", "--verify", "--accept-reorg")
    assert any("history changed" in line for line in caught(accepted, "checkpoint"))
    check = CliRunner().invoke(app, ["audit", "checkpoint", "check", "--chain", str(chain), "--rpc", NOWHERE])
    caught(check, "checkpoint")


def test_one_validator_rewrites_block_12_and_a_second_nodes_answers_disagree(
    chain: Path, sealed: SealedJob, tmp_path: Path
) -> None:
    honest = copy_chain(sealed.chain, tmp_path / "honest")

    def audit_both(index: str) -> Result:
        servers = [ChainServer(Node.open(path), port=0) for path in (honest, chain)]
        for server in servers:
            server.start()
        try:
            urls = [arg for s in servers for arg in ("--rpc", s.url)]
            deployment = ["--deployment", str(honest / "deployment.json"), "--index", str(tmp_path / index)]
            return CliRunner().invoke(app, ["audit", "job", "0", "--verify", *deployment, *urls])
        finally:
            for server in servers:
                server.stop()
                server.node.close()

    agreeing = audit_both("before.db")
    assert agreeing.exit_code == 0 and "nodes agree" not in agreeing.output, agreeing.output
    rewrite_from(chain, 12, sealed.accounts["bank"])
    caught(audit_both("after.db"), "nodes agree")


def test_completeness_asks_a_node_with_a_small_log_range_in_ranges_and_still_finds_a_deleted_consent(
    chain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.chain import filters

    monkeypatch.setattr(filters, "MAX_LOG_RANGE", 2)  # the node refuses more than 2 blocks per eth_getLogs
    untouched = audit(chain, "job", "0", "--verify", "--no-sync")
    assert untouched.exit_code == 0, untouched.output
    _delete("ConsentGiven")(chain)
    caught(audit(chain, "job", "0", "--verify", "--no-sync"), "complete")


def test_an_edited_job_fact_is_caught_by_source_verification(chain: Path) -> None:
    """The derived job_facts table says job 0 was cancelled; its events say finalised."""
    untouched = audit(chain, "source", "0", "--verify", "--no-sync")
    assert untouched.exit_code == 0 and "Finalized" in untouched.output, untouched.output
    sql(chain, "UPDATE job_facts SET event = 'JobCancelled' WHERE job_id = 0 AND event = 'JobFinalized'")
    result = audit(chain, "source", "0", "--verify", "--no-sync")
    assert "Cancelled" in result.output  # what the edited table shows is what verification refuses
    assert any("job 0" in line for line in caught(result, "source uses"))


def test_job_facts_deleted_with_their_version_are_rebuilt_from_the_events_on_open(chain: Path) -> None:
    with sqlite3.connect(chain / "audit-index.db") as db:
        before = db.execute("SELECT * FROM job_facts ORDER BY job_id, event_id").fetchall()
        db.execute("DELETE FROM job_facts")
        db.execute("DELETE FROM meta WHERE key = 'job_facts'")
    assert {"ConsentGiven", "JobReady", "ResultCommitted", "JobFinalized", "PaymentCredited"} <= {r[2] for r in before}
    result = audit(chain, "source", "0", "--verify", "--no-sync")
    assert result.exit_code == 0 and "Finalized" in result.output, result.output
    with sqlite3.connect(chain / "audit-index.db") as db:
        assert db.execute("SELECT * FROM job_facts ORDER BY job_id, event_id").fetchall() == before


def _args(db: sqlite3.Connection, row: int) -> dict[str, Any]:
    return dict(json.loads(db.execute("SELECT args FROM events WHERE id = ?", (row,)).fetchone()[0]))


def test_a_source_owner_rewrites_job_0s_weights_and_credits_in_its_index_and_the_source_verdict_fails(
    chain: Path, sealed: SealedJob
) -> None:
    """The adversary owns source 1 (the hospital): it swaps the committed weights of job 0 in its
    index and rewrites the credits and job facts to what the payout rule gives for the swapped
    weights, so every index-internal check (payout, source uses) agrees with the forgery."""
    hospital = sealed.accounts["hospital"].address.lower()
    before = audit(chain, "source", "1", "--verify", "--no-sync")
    assert before.exit_code == 0 and "job event" in before.output, before.output
    with sqlite3.connect(chain / "audit-index.db") as db:
        committed = event_id(chain, "ResultCommitted")
        args = _args(db, committed)
        args["weights"] = list(reversed(args["weights"]))
        table = bytes.fromhex(args["utilityTableHash"][2:])
        args["contributionHash"] = "0x" + contribution_hash(args["weights"], table).hex()
        db.execute("UPDATE events SET args = ? WHERE id = ?", (json.dumps(args), committed))
    queries = AuditQueries(chain / "audit-index.db")
    implied = implied_credits(queries.job_events(0), queries.source_terms_at) or []
    queries.store.close()
    with sqlite3.connect(chain / "audit-index.db") as db:
        rows = db.execute("SELECT id FROM events WHERE event = 'PaymentCredited' ORDER BY id").fetchall()
        assert len(rows) == len(implied)
        gained = 0
        for (row,), credit in zip(rows, implied, strict=True):
            args = _args(db, row)
            assert args["payee"].lower() == credit.payee
            gained += (credit.amount - args["amount"]) if credit.payee == hospital else 0
            args["amount"] = credit.amount
            db.execute("UPDATE events SET args = ? WHERE id = ?", (json.dumps(args), row))
            db.execute("UPDATE job_facts SET amount = ? WHERE event_id = ?", (str(credit.amount), row))
    assert gained > 0  # the forgery pays the adversary more
    result = audit(chain, "source", "1", "--verify", "--no-sync")
    assert "✗ job 0 payout" not in result.output  # the forgery is consistent within the index
    lines = caught(result, "job event")
    assert any("ResultCommitted @" in line and "weights" in line for line in lines), lines
    assert any("PaymentCredited @" in line and "amount" in line for line in lines), lines

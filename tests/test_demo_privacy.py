"""The demo's privacy-budget step end to end (custos/demo_budget.py): runners consent only to a
covering reservation, the DP statistics job spends its attested ε on chain, one more job is
refused, and the regulator's commands answer with the budget history, verified against the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custos.demo import Demo
from custos.demo_budget import run_privacy_step
from ledger.audit.auditor import Auditor
from ledger.bindings import JobStatus
from tests.cli_runs import custos, custos_here
from tests.small_demo import small_demo_config

pytestmark = pytest.mark.timeout(600)


def test_a_dp_job_spends_each_sources_budget_one_more_is_refused_and_the_audit_verifies(tmp_path: Path) -> None:
    lines: list[str] = []
    # A generous protocol timeout: a loaded machine must not turn a slow peer into an abort.
    demo = Demo(small_demo_config(tmp_path / "demo", deadline=400, protocol_timeout=60, timeout=400), lines.append)
    try:
        rpc = demo.start_chain()
        members = demo.members(rpc)
        sources = demo.register_sources(rpc, members)
        outcome = run_privacy_step(demo, members, sources)

        assert outcome.status is JobStatus.FINALIZED
        assert outcome.remaining == dict.fromkeys(sources.values(), 400000)
        assert "PrivacyBudgetInsufficientEpsilon" in outcome.refusal and "ε 0.4 left" in outcome.refusal
        assert members["regulator"].jobs.job_count() == outcome.job_id + 1  # the refused job does not exist
        reservation = members["regulator"].privacy.reservation_of(outcome.job_id)
        assert reservation.spent == (600_000,) * 3
        assert any("micro-epsilon spent [600000, 600000, 600000]" in line for line in lines)

        # The auditor's own verification of the job checks the attestations over the spend.
        auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, tmp_path / "a.db")
        auditor.sync()
        report = auditor.verifier.verify_job(outcome.job_id)
        assert report.ok, report.failures

        audit = ["--rpc", rpc, "--deployment", str(demo.chain / "deployment.json"), "--index", str(tmp_path / "c.db")]
        done = custos("audit", "budget", "--source", str(sources["invoice-firm"]), *audit, "--json", "--verify")
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        body = answer.get("body", answer)
        assert body["verification"]["ok"] and len(body["verification"]["checks"]) > 4
        assert body["closing"]["epsilon"] == {"total": "1", "spent": "0.6", "reserved": "0", "remaining": "0.4"}
        assert [s["change"] for s in body["steps"]] == ["set", "reserved", "spent"]
        assert body["jobs"][0]["outcome"] == "spent" and body["jobs"][0]["closedAt"] >= body["jobs"][0]["reservedAt"]

        # The evidence bundle carries the job's DP parameters and the accountant's computation, and verifies offline.
        params_hash = members["regulator"].jobs.job(outcome.job_id).params_hash
        document = demo.folder / "parties" / "bank" / "params" / f"{params_hash.hex()}.json"
        bundle = tmp_path / "job.bundle.json"
        exported = custos(
            "audit", "export", "job", str(outcome.job_id), "--out", str(bundle), *audit, "--params", str(document)
        )
        assert exported.returncode == 0, exported.stderr
        privacy = json.loads(bundle.read_text())["privacy"]
        assert privacy["epsilonsMicros"] == [600_000] * 3 and privacy["accountant"]["epsilon"] == "0.6"
        offline = custos("audit", "verify-bundle", str(bundle), "--deployment", str(demo.chain / "deployment.json"))
        assert offline.returncode == 0, offline.stdout + offline.stderr

        shown = custos("audit", "source", str(sources["bank"]), *audit)
        assert shown.returncode == 0 and "privacy budget" in shown.stdout and "0.4 remaining" in shown.stdout
        own = custos("source", "budget", str(sources["bank"]), "-w", str(demo.folder / "parties" / "bank"))
        assert own.returncode == 0 and "remaining 0.4" in own.stdout, own.stderr
        raised = custos(
            "source", "budget", str(sources["bank"]), "--epsilon", "2", "-w", str(demo.folder / "parties" / "bank")
        )
        assert raised.returncode == 0 and "remaining 1.4" in raised.stdout, raised.stderr
        lowered = custos(
            "source", "budget", str(sources["bank"]), "--epsilon", "0.5", "-w", str(demo.folder / "parties" / "bank")
        )
        assert lowered.returncode != 0 and "PrivacyBudgetTotalTooLow" in lowered.stderr + lowered.stdout
        assert "Traceback" not in lowered.stderr
    finally:
        demo.stop()


_OFFLINE_JOB = ("--sources", "0,1", "--compute", "0x0", "--budget", "1", "-w", "/x")  # refused before any chain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("source", "register", "x.csv", "-w", "/x", "--epsilon", "0.0000001"), "more than the 6 decimals"),
        (("source", "register", "x.csv", "-w", "/x", "--epsilon", "-1"), "negative"),
        (("source", "register", "x.csv", "-w", "/x", "--epsilon", "1", "--delta", "2"), "above the largest"),
        (("source", "budget", "0", "-w", "/x", "--delta", "abc"), "not a number"),
        (("job", "open", "stats", *_OFFLINE_JOB, "--epsilon-per-source", "0.5"), "needs --clip"),
        (("job", "open", "fedavg", *_OFFLINE_JOB, "--epsilon-per-source", "0.5"), "needs --clip"),
        (("job", "open", "fedavg", *_OFFLINE_JOB, "--epsilon-per-source", "0", "--clip", "1"), "more than 0"),
        (("job", "open", "stats", *_OFFLINE_JOB, "--epsilon-per-source", "0", "--clip", "0,1"), "more than 0"),
        (
            ("job", "open", "fedavg", *_OFFLINE_JOB, "--epsilon-per-source", "1", "--noise-multiplier", "2"),
            "not both",
        ),
        (("job", "open", "fedavg", *_OFFLINE_JOB, "--noise-multiplier", "2", "--clip", "-1"), "clip_norm > 0"),
        (("job", "open", "hetero-lr", *_OFFLINE_JOB, "--epsilon-per-source", "0.5"), "No such option"),
    ],
)
def test_bad_budget_input_is_one_clear_line_not_a_traceback(args: tuple[str, ...], message: str) -> None:
    done = custos_here(*args)  # an exception the command lets escape fails the test here
    assert done.exit_code != 0
    assert message in done.output

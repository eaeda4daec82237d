"""The party commands as a user types them: register, open, consent, show, run, balance, withdraw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compute.jobs.synthetic_credit import generate
from custos.demo import Demo, DemoConfig
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV, Keystore
from tests.waiting import RunnerProgress, wait_for

pytestmark = pytest.mark.timeout(300)


def custos(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: DEV_PASSWORD, "COLUMNS": "400"}  # no wrapped error boxes
    return subprocess.run([sys.executable, "-m", "custos", *args], capture_output=True, text=True, env=env, timeout=120)


def test_a_job_opened_and_consented_from_the_command_line_settles_and_pays_out(tmp_path: Path) -> None:
    run = Demo(DemoConfig(folder=tmp_path / "demo", timeout=150, protocol_timeout=8), lambda line: None)
    try:
        rpc = run.start_chain()
        members = run.members(rpc)
        parties = run.folder / "parties"
        split = generate(300, seed=3)
        for name, table, label in (
            ("bank", split.bank, ["--label-column", "y"]),
            ("invoice-firm", split.invoice, ["--policy", "explicit"]),
            ("card-network", split.card, []),
        ):
            (parties / name / "data.csv").write_text(table.to_csv())
            done = custos(
                "source",
                "register",
                str(parties / name / "data.csv"),
                "-w",
                str(parties / name),
                "--price",
                "10",
                *label,
            )
            assert done.returncode == 0, done.stderr
            assert "commitment 0x" in done.stdout
        compute = Keystore(run.chain / "keystore").address("compute-node")
        opened = custos(
            "job",
            "open",
            "hetero-lr",
            "--sources",
            "0,1,2",
            "--compute",
            compute,
            "--budget",
            "100.25",
            "--key-bits",
            "512",
            "--epochs",
            "1",
            "-w",
            str(parties / "bank"),
        )
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.startswith("job 0 opened")

        runners = run.start_runners(0)
        jobs = members["regulator"].jobs
        wait_for(lambda: jobs.has_consented(0, 0) and jobs.has_consented(0, 2), 120, "the runner-policy consents")
        # The invoice firm's runner has seen the job and holds back: its source waits for an explicit consent.
        invoice = RunnerProgress(runners["invoice-firm"])
        waiting = wait_for(lambda: invoice.stage("awaiting-consent"), 60, "the invoice firm's runner to hold back")
        assert waiting["detail"].startswith("source 1:") and "consent" not in [e["stage"] for e in invoice.events]
        assert not jobs.has_consented(0, 1) and jobs.job(0).status == JobStatus.OPEN
        shown = json.loads(custos("job", "show", "0", "-w", str(parties / "bank"), "--json").stdout)
        assert shown["status"] == "OPEN" and [s["id"] for s in shown["sources"]] == [0, 1, 2]
        assert (shown["kind"], shown["budget"], shown["sources"][0]["price"]) == ("HETERO_LR", "100.25", "10")
        consent = custos("job", "consent", "0", "-w", str(parties / "invoice-firm"))
        assert consent.returncode == 0 and "consented: job 0, source 1" in consent.stdout

        assert run.wait_final(members["regulator"], 0) == JobStatus.FINALIZED

        balance = custos("payout", "balance", "-w", str(parties / "invoice-firm"))
        assert balance.returncode == 0 and "credit 0 CST" not in balance.stdout
        withdrawn = custos("payout", "withdraw", "-w", str(parties / "invoice-firm"))
        assert withdrawn.returncode == 0 and withdrawn.stdout.startswith("withdrew ")
        assert withdrawn.stdout.split()[1] in balance.stdout  # the exact credit, every digit, went out
        assert "credit 0 CST" in custos("payout", "balance", "-w", str(parties / "invoice-firm")).stdout
    finally:
        run.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("job", "consent", "0", "-w", "/nonexistent/ws"), "no workspace"),
        (
            ("job", "open", "fedavg", "--sources", "0,1", "--compute", "0x0", "--budget", "1", "-w", "/x"),
            "not opened from the CLI",
        ),
        (("source", "register", "x.csv", "-w", "/x", "--kinds", "NOPE"), "unknown job kind"),
        (("source", "register", "x.csv", "-w", "/x", "--price", "nan"), "not a plain decimal number"),
        (("source", "register", "x.csv", "-w", "/x", "--price", "-1"), "negative"),
        (
            ("job", "open", "hetero-lr", "--sources", "0,1", "--compute", "0x0", "--budget", "1e3", "-w", "/x"),
            "not a plain decimal number",
        ),
        (
            ("job", "open", "hetero-lr", "--sources", "0,1", "--compute", "0x0", "--budget", "0." + "0" * 18 + "1"),
            "more than the 18 decimals",
        ),
    ],
)
def test_bad_input_is_one_clear_line_not_a_traceback(args: tuple[str, ...], message: str) -> None:
    done = custos(*args)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr

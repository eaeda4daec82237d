"""The party commands as a user types them: register, open, consent, show, run, balance, withdraw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compute.jobs.synthetic_credit import generate
from custos.demo import Demo, DemoConfig
from ledger.bindings import JobStatus
from ledger.keystore import Keystore
from tests.cli_runs import custos, custos_here
from tests.waiting import RunnerProgress, wait_for

pytestmark = pytest.mark.timeout(300)


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
                "--kinds",
                "psi,secure-stats,fedavg,hetero-lr",
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
        assert opened.stdout.startswith("job 0 opened (hetero-lr)")

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

        # The other kinds open from the command line too, each with its own options and document.
        common = ("--compute", compute, "--budget", "30.000000000000000001", "-w", str(parties / "bank"))
        for args, kind in (
            (("psi", "--sources", "0,1"), "PSI"),
            (("stats", "--sources", "0,2", "--columns", "0=years_in_business,2=card_revenue"), "SECURE_STATS"),
            (("fedavg", "--sources", "0,1,2", "--rounds", "3"), "FEDAVG"),
        ):
            done = custos("job", "open", *args, *common)
            assert done.returncode == 0, done.stderr
            job_id = done.stdout.split()[1]
            shown = json.loads(custos("job", "show", job_id, "-w", str(parties / "bank"), "--json").stdout)
            assert (shown["kind"], shown["budget"], shown["status"]) == (kind, "30.000000000000000001", "OPEN")
            digest = done.stdout.split("parameters 0x")[1].split(";")[0]
            document = json.loads((parties / "bank" / "params" / f"{digest}.json").read_text())
            assert document["sources"] == [int(s) for s in args[2].split(",")]
    finally:
        run.stop()


@pytest.fixture(scope="module")
def offline_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose chain is unreachable: what fails before any transaction still fails as one line."""
    from compute.jobs.workspace import Workspace

    folder = tmp_path_factory.mktemp("offline")
    Workspace.create(folder / "ws", "bank", folder / "keystore", "http://127.0.0.1:9", folder / "deployment.json")
    (folder / "malformed.csv").write_text("id,revenue\na,1\nb,2,3\n")
    (folder / "duplicates.csv").write_text("id,revenue\na,1\na,2\n")
    (folder / "binary.csv").write_bytes(b"id,revenue\n\xff\xfe,1\n")
    return folder


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("job", "consent", "0", "-w", "/nonexistent/ws"), "no workspace"),
        (("job", "open", "secure-aggregation", "--sources", "0,1"), "No such command 'secure-aggregation'"),
        (("job", "open", "nope", "--sources", "0,1"), "No such command 'nope'"),
        (("source", "register", "x.csv", "-w", "/x", "--kinds", "NOPE"), "unknown job kind"),
        (("source", "register", "x.csv", "-w", "/x", "--policy", "sometimes"), "unknown consent policy"),
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
        (
            ("job", "open", "psi", "--sources", "0,1,2", "--compute", "0x0", "--budget", "1", "-w", "/x"),
            "PSI runs on exactly two sources",
        ),
        (
            ("job", "open", "stats", "--sources", "0,1", "--compute", "0x0", "--budget", "1", "-w", "/x"),
            "name the column to sum",
        ),
        (
            (
                "job",
                "open",
                "stats",
                "--sources",
                "0,1",
                "--columns",
                "zero=a",
                "--compute",
                "0",
                "--budget",
                "1",
                "-w",
                "/x",
            ),
            "source=column pairs",
        ),
        (
            ("job", "open", "hetero-lr", "--sources", "0", "--compute", "0x0", "--budget", "1", "-w", "/x"),
            "at least one more",
        ),
    ],
)
def test_bad_input_is_one_clear_line_not_a_traceback(args: tuple[str, ...], message: str) -> None:
    done = custos_here(*args)
    assert done.exit_code != 0
    assert message in done.output


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("malformed.csv", "malformed.csv line 3: 3 cells, header has 2"),
        ("duplicates.csv", "ids in column 'id' are not unique"),
        ("binary.csv", "is not a readable CSV file"),
        ("missing.csv", "data file not found"),
    ],
)
def test_a_file_that_cannot_be_committed_is_one_error_line_at_source_register(
    offline_workspace: Path, file: str, message: str
) -> None:
    done = custos_here("source", "register", str(offline_workspace / file), "-w", str(offline_workspace / "ws"))
    assert done.exit_code == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.output


def test_progress_view_prints_each_step_and_draws_a_bar_for_the_protocol_run() -> None:
    from dataclasses import dataclass

    from rich.console import Console

    from compute.jobs.runner import Progress
    from custos.progress_view import ProgressView

    @dataclass(frozen=True)
    class EpochProgress(Progress):
        fraction: float = 0.0  # what a runner that reports epochs adds to its events

    console = Console(record=True, force_terminal=True, width=120)
    with ProgressView(console) as view:
        view(Progress(3, "bank", "consent", "source 0 v1: data matches its commitment"))
        view(Progress(3, "bank", "protocol", "running psi-rsa-blind with 3 parties"))
        view(EpochProgress(3, "bank", "epoch", "epoch 2 of 4, loss 0.4132", 0.5))
        assert [task.percentage for task in view._bars.tasks] == [50.0]
        view(Progress(3, "bank", "round", "3/4 loss=0.39 auc=0.78"))
        assert [task.percentage for task in view._bars.tasks] == [75.0]
        view(Progress(3, "bank", "protocol-done", "result 0xabc…"))
        assert view._bars.tasks[0].finished
    text = console.export_text()
    assert "[bank] job 3 consent: source 0 v1: data matches its commitment" in text
    assert "job 3 protocol-done: result 0xabc…" in text

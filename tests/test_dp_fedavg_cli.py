"""A DP FedAvg job opened from the command line (`custos job open fedavg --epsilon-per-source`), end to end
on the embedded chain: it reserves exactly the accountant's ε per source, the runners train, the compute
party commits that ε, every attester recomputes and signs it, the job finalises and the budget shows it
spent. Then a job asking more than is left is refused on chain in one line, and an explicit consent to a
job whose reservation is below the accountant's ε is refused before any transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compute.dp.budget import job_spend
from compute.jobs.service import OpenRequest, deadline_after, open_job
from compute.jobs.workspace import Workspace
from custos.demo import Demo
from ledger.audit.auditor import Auditor
from ledger.bindings import JobStatus
from ledger.keystore import Keystore
from ledger.protocol import JobKind
from ledger.units import format_epsilon, parse_amount, parse_delta, parse_epsilon
from tests.cli_runs import custos
from tests.small_demo import horizontal_sources, small_demo_config

pytestmark = pytest.mark.timeout(600)


def test_a_dp_fedavg_job_opened_by_the_cli_reserves_spends_and_attests_the_accountants_epsilon(tmp_path: Path) -> None:
    # A generous protocol timeout: a loaded machine must not turn a slow peer into an abort.
    demo = Demo(small_demo_config(tmp_path / "demo", deadline=400, protocol_timeout=60, timeout=400), lambda _: None)
    try:
        rpc = demo.start_chain()
        members = demo.members(rpc)
        sources = horizontal_sources(demo, members, JobKind.FEDAVG.bit)
        for name, source_id in zip(("bank", "invoice-firm", "card-network"), sources, strict=True):
            members[name].privacy.set_budget(source_id, parse_epsilon("1"), parse_delta("1e-5"))
        parties = demo.folder / "parties"
        compute = Keystore(demo.chain / "keystore").address("compute-node")
        fedavg = ("job", "open", "fedavg", "--sources", ",".join(map(str, sources)), "--compute", compute)
        common = (
            "--budget",
            "30",
            "--rounds",
            "2",
            "--learning-rate",
            "0.3",
            "--clip",
            "1",
            "-w",
            str(parties / "bank"),
        )

        # Arrange: the bank asks for at most ε 0.5 per source; the accountant picks σ and the job reserves its ε.
        opened = custos(*fedavg, *common, "--epsilon-per-source", "0.5")
        assert opened.returncode == 0, opened.stderr
        job_id = int(opened.stdout.split()[1])
        digest = opened.stdout.split("parameters 0x")[1].split(";")[0]
        document = json.loads((parties / "bank" / "params" / f"{digest}.json").read_text())
        assert document["dims"] == 5 and document["fedavg"]["contribution"] is False  # 4 features + bias
        spend = job_spend(JobKind.FEDAVG, document, 3)
        assert spend is not None and max(spend.epsilons) <= 500_000
        regulator = members["regulator"]
        reservation = regulator.privacy.reservation_of(job_id)
        assert reservation.epsilons == spend.epsilons and reservation.delta == spend.delta == parse_delta("1e-6")
        assert f"ε reserved per source: {format_epsilon(spend.epsilons[0])}" in opened.stdout

        # Act: every party's runner consents (after the accountant's check), trains, commits and attests.
        demo.start_runners(job_id)
        assert demo.wait_final(regulator, job_id) == JobStatus.FINALIZED

        # Assert: the committed spend is the accountant's, every attester signed it, and the budget shows it.
        assert regulator.privacy.reservation_of(job_id).spent == spend.epsilons
        _, weights, attesters = regulator.jobs.job_parties(job_id)
        assert regulator.jobs.job(job_id).attestations == len(attesters) == 4 and list(weights) == [1, 1, 1]
        auditor = Auditor.open(regulator.sender.w3, regulator.deployment, tmp_path / "index.db")
        auditor.sync()
        report = auditor.verifier.verify_job(job_id)
        assert report.ok, report.failures
        left = parse_epsilon("1") - spend.epsilons[0]
        shown = custos("source", "budget", str(sources[0]), "-w", str(parties / "bank"))
        assert (
            f"spent {format_epsilon(spend.epsilons[0])}, reserved 0, remaining {format_epsilon(left)}" in shown.stdout
        )

        # A second job asking more than any source has left is refused on chain, decoded into one line.
        jobs_before = regulator.jobs.job_count()
        refused = custos(*fedavg, *common, "--epsilon-per-source", "0.9")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.strip().splitlines() == [refused.stderr.strip()], refused.stderr
        assert refused.stderr.startswith(
            f"error: job refused on chain: source {sources[0]} has ε {format_epsilon(left)}"
        )
        assert "(PrivacyBudgetInsufficientEpsilon)" in refused.stderr
        assert regulator.jobs.job_count() == jobs_before

        # The bank's own software reserves one micro-ε less than the mechanism spends on each source.
        bank = Workspace.load(parties / "bank")
        cheap = {**document, "fedavg": {**document["fedavg"], "rounds": 1}}
        need = job_spend(JobKind.FEDAVG, cheap, 3)
        assert need is not None
        short = open_job(
            members["bank"],
            OpenRequest(
                JobKind.FEDAVG,
                tuple(sources),
                (compute,),
                parse_amount(30),
                deadline_after(members["bank"], 400),
                document=cheap,
                epsilons=tuple(e - 1 for e in need.epsilons),
                delta=need.delta,
            ),
            store=bank,
        )
        # The invoice firm holds the document (its copy hashes to the job's) and consents explicitly.
        held = parties / "invoice-firm" / "params"
        held.mkdir(exist_ok=True)
        name = f"{short.params_hash.hex()}.json"
        (held / name).write_bytes((parties / "bank" / "params" / name).read_bytes())
        firm = members["invoice-firm"]
        nonce = firm.sender.w3.eth.get_transaction_count(firm.address)
        consent = custos("job", "consent", str(short.job_id), "-w", str(parties / "invoice-firm"))
        assert consent.returncode == 1 and "Traceback" not in consent.stderr
        assert consent.stderr.strip() == (
            f"error: PRIVACY source #0: the mechanism spends {need.epsilons[0]} micro-epsilon, "
            f"the job reserved {need.epsilons[0] - 1}"
        )
        assert not regulator.jobs.has_consented(short.job_id, sources[1])
        assert firm.sender.w3.eth.get_transaction_count(firm.address) == nonce  # no consent transaction was sent
    finally:
        demo.stop()

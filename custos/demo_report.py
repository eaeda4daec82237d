"""What `custos demo` prints after the job: model quality, contribution shares, payouts, audit trail."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from compute.jobs.service.results import ResultStore
from custos.demo import DemoConfig, DemoOutcome
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD, Keystore
from ledger.member import MemberLedger
from ledger.units import TOKEN_SYMBOL, format_amount


def _coalition(table: dict, members: list[int]) -> float | None:
    for entry_members, value in table["entries"]:
        if sorted(entry_members) == sorted(members):
            return float(value)
    return None


def _model_and_shares(bundle: dict, names: list[str], say: Callable[[str], None]) -> None:
    result, metadata = bundle["result"], bundle["metadata"]
    contribution = result["contribution"]
    table = contribution["utility_table"]
    say(f"common customers found by RSA PSI: {metadata.get('intersection', '?')}")
    say(
        f"joint model AUC {result['auc']:.4f}  vs bank-only {_coalition(table, [0]):.4f} "
        f"(utility of the bank's features alone, {table['metric']})"
    )
    total = sum(contribution["weights"]) or 1
    for name, score, weight in zip(names, contribution["scores"], contribution["weights"]):
        say(f"  {name:<13} Shapley {score:+.4f}  share {100 * weight / total:5.1f}%")


def report(outcome: DemoOutcome, config: DemoConfig, say: Callable[[str], None]) -> int:
    """Print the outcome; 0 when the job finalised, paid out exactly and its trail verifies."""
    folder = outcome.chain.parent
    say("")
    say(f"job {outcome.job_id}: {outcome.status.name}")
    bundle = ResultStore(folder / "parties" / "bank").load(outcome.job_id)
    if bundle is not None and bundle.get("result"):
        _model_and_shares(bundle, ["bank", "invoice-firm", "card-network"], say)
    keystore = Keystore(outcome.chain / "keystore")
    auditor = MemberLedger.open(
        outcome.rpc, outcome.chain / "deployment.json", keystore.unlock("regulator", DEV_PASSWORD)
    )
    escrow = auditor.jobs.job(outcome.job_id).budget
    # This job's own PaymentCredited events: later demo jobs (the DP step) credit the same members.
    head = auditor.jobs.sender.w3.eth.block_number
    paid: dict[str, int] = {}
    for event in auditor.settlement.logs(0, head):
        if event.name == "PaymentCredited" and int(event.args["jobId"]) == outcome.job_id:
            payee = str(event.args["payee"]).lower()
            paid[payee] = paid.get(payee, 0) + int(event.args["amount"])
    credits = {name: paid.get(keystore.address(name).lower(), 0) for name in keystore.names() if name != "deployer"}
    say(f"escrow {format_amount(escrow, symbol=True)} split into credits (pull with `custos payout withdraw`):")
    for name, amount in credits.items():
        if amount:
            say(f"  {name:<13} {format_amount(amount):>26} {TOKEN_SYMBOL}")
    paid_exactly = sum(credits.values()) == escrow
    say(f"credits sum to the escrow exactly: {'yes' if paid_exactly else 'NO'}")
    say("")
    audit = [
        sys.executable,
        "-m",
        "custos",
        "audit",
        "job",
        str(outcome.job_id),
        "--rpc",
        outcome.rpc,
        "--chain",
        str(outcome.chain),
        "--verify",
    ]
    trail = subprocess.run(audit, capture_output=True, text=True)
    say(trail.stdout.rstrip())
    if trail.returncode != 0:
        say(trail.stderr.rstrip())
    say("")
    say(f"The chain is left in {outcome.chain}; audit it again with")
    say(f"  custos audit job {outcome.job_id} --chain {outcome.chain} --verify")
    ok = outcome.status == JobStatus.FINALIZED and paid_exactly and trail.returncode == 0
    return 0 if ok else 1

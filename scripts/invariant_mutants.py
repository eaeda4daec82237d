"""Shows that the forge invariants catch planted bugs (a mutation check of the invariants, not a test).

For each mutant: patch contracts/src with the planted bug, run the invariant campaign
(`test/Invariants.t.sol`) with a fixed seed, expect it to FAIL on the property named in the
mutant, restore the source. A clean run comes first: mutants only count against passing code.

Each mutation site is found by an anchor: exact text that must occur exactly once in its file.
When an edit moves or renames that text the script stops and names the mutant, so a stale
mutant can never pass silently. To add one, append a `Mutant` to MUTANTS.

Usage:
    .venv/bin/python scripts/invariant_mutants.py            # 256 runs x depth 200 per mutant
    .venv/bin/python scripts/invariant_mutants.py --quick    # CI: 64 runs x depth 100, every mutant
    .venv/bin/python scripts/invariant_mutants.py --only fee-read-at-settlement
Exit status: 0 when every mutant is caught, 1 when one survives, 2 when an anchor is missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
FORGE = CONTRACTS / "tools" / "forge"
INVARIANTS = "test/Invariants.t.sol"
SEED = "0xc057"  # fixed, so CI runs the same campaign every time


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace `anchor` (exactly once in `path`) by `planted`; `caught_by` is the
    property whose failure message must appear ("per-payee", "roles", "liveness", ...)."""

    name: str
    why: str
    path: str
    anchor: str
    planted: str
    caught_by: str


MUTANTS = (
    Mutant(
        "withdraw-without-membership",
        "Settlement.withdraw forgets onlyMember (an ex-member with credits reaches the token)",
        "src/Settlement.sol",
        "function withdraw() external nonReentrant onlyMember returns",
        "function withdraw() external nonReentrant returns",
        "roles:",
    ),
    Mutant(
        "consent-without-role",
        "consent forgets the PROVIDER check (a removed owner still consents)",
        "src/JobLedger.sol",
        "function consent(uint256 jobId, uint256 sourceId) external {\n        _requireRoles(msg.sender, PROVIDER);\n",
        "function consent(uint256 jobId, uint256 sourceId) external {\n",
        "roles:",
    ),
    Mutant(
        "every-share-to-first-owner",
        "release credits every source share to owners[0]",
        "src/Settlement.sol",
        "_credit(jobId, owners[i], shares[i]);",
        "_credit(jobId, owners[0], shares[i]);",
        "per-payee:",
    ),
    Mutant(
        "finalize-without-attestations",
        "finalize skips the every-attester check",
        "src/JobLedger.sol",
        "        if (rec.attestations < needed) "
        "revert JobLedgerMissingAttestations(jobId, rec.attestations, needed);\n",
        "",
        "finalise:",
    ),
    Mutant(
        "finalize-inside-window",
        "finalize skips the challenge-window check",
        "src/JobLedger.sol",
        "        if (block.timestamp < endsAt) revert JobLedgerChallengeWindowOpen(jobId, endsAt);\n",
        "",
        "finalise:",
    ),
    Mutant(
        "commit-by-non-party",
        "commitResult forgets that the committer must be a compute party of the job",
        "src/JobLedger.sol",
        "        if (_role[jobId][msg.sender] & JobTypes.AS_COMPUTE == 0) "
        "revert JobLedgerNotComputeParty(jobId, msg.sender);\n",
        "",
        "roles:",
    ),
    Mutant(
        "commit-without-compute-role",
        "commitResult forgets COMPUTE now (a party stripped of COMPUTE still commits)",
        "src/JobLedger.sol",
        "        _requireRoles(msg.sender, COMPUTE);\n        JobTypes.Job storage rec = _job(jobId);\n"
        "        _requireStatus(jobId, rec, JobTypes.Status.Ready);\n",
        "        JobTypes.Job storage rec = _job(jobId);\n        _requireStatus(jobId, rec, JobTypes.Status.Ready);\n",
        "roles:",
    ),
    Mutant(
        "fee-read-at-settlement",
        "release uses governance's current fee instead of the job's recorded fee",
        "src/JobLedger.sol",
        "p.computeParties, _terms[jobId].feeBps);",
        "p.computeParties, _settlement.feeBps());",
        "per-payee:",
    ),
    Mutant(
        "abort-after-ready-refunds-all",
        "an abort after Ready refunds everything (the requester's escape)",
        "src/base/JobLiveness.sol",
        "        bool priced = rec.status == JobTypes.Status.Ready;\n        rec.status = JobTypes.Status.Aborted;\n",
        "        bool priced = false;\n        rec.status = JobTypes.Status.Aborted;\n",
        "per-payee:",
    ),
    Mutant(
        "escalation-impossible",
        "escalate always reverts: a silent attester locks the escrow again (F1)",
        "src/base/JobLiveness.sol",
        "        if (rec.attestations >= needed) revert JobLedgerNothingMissing(jobId);\n",
        "        revert JobLedgerNothingMissing(jobId);\n",
        "liveness:",
    ),
    Mutant(
        "default-never-applies",
        "settleUnresolved always reverts: an unresolved dispute locks the escrow",
        "src/base/JobLiveness.sol",
        "        if (block.timestamp < endsAt) revert JobLedgerResolutionWindowOpen(jobId, endsAt);\n",
        "        revert JobLedgerResolutionWindowOpen(jobId, endsAt);\n",
        "liveness:",
    ),
    Mutant(
        "removed-owners-source-usable",
        "isUsableBy forgets that the owner must hold PROVIDER now",
        "src/DataRegistry.sol",
        "\n            && _consortium.hasRoles(s.owner, PROVIDER);",
        ";",
        "roles:",
    ),
    Mutant(
        "fee-unbounded",
        "setFeeBps forgets its 30% bound",
        "src/Settlement.sol",
        "        if (feeBps_ > MAX_FEE_BPS) revert SettlementInvalidFee(feeBps_);\n        uint256 old = _feeBps;\n",
        "        uint256 old = _feeBps;\n",
        "settings:",
    ),
    Mutant(
        "withdraw-keeps-credit",
        "withdraw pays out but leaves the credit on the books",
        "src/Settlement.sol",
        "        _credits[msg.sender] = 0;\n",
        "",
        "escrow conserved",
    ),
    Mutant(
        "sweep-takes-escrow",
        "sweep forgets that escrow and credits are not stray",
        "src/Settlement.sol",
        "        if (address(asset) == address(_token)) stray -= _totalEscrowed + _totalCredits;\n",
        "",
        "escrow conserved",
    ),
    Mutant(
        "attestation-window-read-at-escalation",
        "escalate uses governance's current attestation window instead of the one fixed at opening",
        "src/base/JobLiveness.sol",
        "uint256(rec.committedAt) + _terms[jobId].attestationWindow;",
        "uint256(rec.committedAt) + _currentTerms(0).attestationWindow;",
        "liveness:",
    ),
    Mutant(
        "reserve-without-epsilon-check",
        "a DP job reserves ε without checking what is left (two concurrent jobs overspend)",
        "src/PrivacyBudget.sol",
        "        if (epsilon > epsilonLeft) revert PrivacyBudgetInsufficientEpsilon(sourceId, epsilon, epsilonLeft);\n",
        "",
        "budget:",
    ),
    Mutant(
        "refund-keeps-reservation",
        "cancel, abort and refunds leave the job's ε reserved (the budget leaks)",
        "src/PrivacyBudget.sol",
        "            b.epsilonReserved -= r.epsilons[i];\n            b.deltaReserved -= r.delta;\n"
        "            emit PrivacyBudgetReleased(sourceId, jobId, r.epsilons[i], r.delta);\n",
        "            b.deltaReserved -= r.delta;\n"
        "            emit PrivacyBudgetReleased(sourceId, jobId, r.epsilons[i], r.delta);\n",
        "budget:",
    ),
    Mutant(
        "settle-spends-the-reservation",
        "finalisation counts the whole reservation as spent instead of the attested spend",
        "src/PrivacyBudget.sol",
        "            uint64 spent = r.spent[i];\n",
        "            uint64 spent = r.epsilons[i];\n",
        "budget:",
    ),
    Mutant(
        "job-records-by-non-participant",
        "anchorJobRecords forgets to ask JobLedger whether the caller takes part in the job",
        "src/AuditAnchor.sol",
        "        if (!_jobLedger.isParticipant(jobId, msg.sender)) "
        "revert AuditAnchorNotJobParticipant(jobId, msg.sender);\n",
        "",
        "roles:",
    ),
)


class AnchorMissing(Exception):
    """A mutant's anchor is not in its file exactly once: the mutant is stale."""


def plant(mutant: Mutant) -> str:
    """Apply the mutant; return the file's original text (to restore)."""
    path = CONTRACTS / mutant.path
    text = path.read_text()
    count = text.count(mutant.anchor)
    if count != 1:
        raise AnchorMissing(
            f"mutant {mutant.name!r}: its anchor occurs {count} times in {mutant.path} (needs exactly 1); "
            f"update MUTANTS in {Path(__file__).name}:\n{mutant.anchor}"
        )
    path.write_text(text.replace(mutant.anchor, mutant.planted, 1))
    return text


def campaign(runs: int, depth: int) -> tuple[int, str]:
    """Run the invariant campaign once, from scratch; (exit status, forge's output)."""
    with tempfile.TemporaryDirectory(prefix="custos-mutant-") as failures:
        return _forge(runs, depth, failures)


def _forge(runs: int, depth: int, failures: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "FOUNDRY_PROFILE": "default",
        "FOUNDRY_INVARIANT_RUNS": str(runs),
        "FOUNDRY_INVARIANT_DEPTH": str(depth),
        # solc-js spends most of a mutant's time optimising; the bugs do not need it. A separate
        # output and cache keep the real (optimised) build untouched.
        "FOUNDRY_OPTIMIZER": "false",
        "FOUNDRY_OUT": "out-mutants",
        "FOUNDRY_CACHE_PATH": "cache-mutants",
        # forge replays persisted failing sequences first: one mutant's failure must not kill the next.
        "FOUNDRY_INVARIANT_FAILURE_PERSIST_DIR": failures,
    }
    proc = subprocess.run(
        [str(FORGE), "test", "--match-path", INVARIANTS, "--fuzz-seed", SEED],
        cwd=CONTRACTS,
        capture_output=True,
        text=True,
        env=env,
    )
    return proc.returncode, proc.stdout + proc.stderr


def verdict(status: int, output: str) -> str:
    """'passed', 'compile error', or the failing line forge printed."""
    if "Compiler run failed" in output:
        return "compile error"
    failures = [line.strip() for line in output.splitlines() if line.strip().startswith("[FAIL")]
    if status == 0 and not failures:
        return "passed"
    return failures[0] if failures else f"forge exited {status}: {output[-400:]}"


def main(argv: list[str] | None = None) -> int:
    """Baseline, then every mutant; exit 1 if any survives or is caught by the wrong property."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI mode: 64 runs x depth 100 (every mutant)")
    parser.add_argument("--only", action="append", default=[], help="run only the named mutant(s)")
    args = parser.parse_args(argv)
    runs, depth = (64, 100) if args.quick else (256, 200)
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    unknown = set(args.only) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    started = time.monotonic()
    baseline = verdict(*campaign(runs, depth))
    if baseline != "passed":
        print(f"the unmutated contracts fail the invariants ({baseline}); fix that first", file=sys.stderr)
        return 1
    survived = 0
    for mutant in chosen:
        try:
            original = plant(mutant)
        except AnchorMissing as exc:
            print(exc, file=sys.stderr)
            return 2
        try:
            result = verdict(*campaign(runs, depth))
        finally:
            (CONTRACTS / mutant.path).write_text(original)
        if result == "compile error":
            print(f"mutant {mutant.name!r} does not compile: fix its planted text", file=sys.stderr)
            return 2
        caught = result != "passed" and mutant.caught_by in result
        survived += not caught
        label = "caught" if caught else ("SURVIVED" if result == "passed" else "WRONG PROPERTY")
        print(f"{label}: {mutant.name} — {mutant.why}\n    expected {mutant.caught_by!r}; {result}", flush=True)
    minutes = (time.monotonic() - started) / 60
    print(f"{len(chosen) - survived}/{len(chosen)} mutants caught ({runs} runs x depth {depth}, {minutes:.1f} min)")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

"""Proves each finding of the contracts review on the OLD contracts and shows it fixed on the new ones.

The review (issue 16) found F1–F8 and four "also" items on the contracts before commit d595ba5.
`scripts/findings_old/*.t.sol` holds one proof per finding: a forge test asserting the bad
behaviour the review found, so it PASSES exactly while the bug is there. This script:

1. builds a temporary Foundry project from the old sources (`git archive 87062a0`: src, the
   test fixture and test lib of that tree) plus the proofs, and runs them: each must pass;
2. builds a second one from this tree's sources and fixture plus the same proofs and
   `contracts/test/Findings*.t.sol`, and runs both: each proof that compiles must now FAIL (the
   bug is gone) and each regression test must pass. A proof that cannot compile against the new
   API is dropped from the new run, named with the compiler's reason; its regression tests
   still decide.

`scripts/findings_old/adapter_{old,new}/OpenAdapter.sol` is the only per-tree code: `openJob`
gained `maxTotalPrice`. Both projects use this tree's forge/solc-js wrapper (contracts/tools) and
foundry.toml, without the optimiser (the proofs do not need it; it halves the build time).

Usage:
    .venv/bin/python scripts/findings_old_vs_new.py
Exit status: 0 when every proof holds on the old contracts, none holds on the new ones and every
regression test passes; 1 otherwise; 2 when a project does not build.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
PROOFS = Path(__file__).resolve().parent / "findings_old"
OLD_COMMIT = "87062a0"  # the tree the review was made on (the parent of the fix, d595ba5)
PROOF_DIR = "test/findings"  # where the proofs go inside each temporary project
MAX_BUILDS = 4  # the new project is rebuilt once per round of proofs that do not compile


@dataclass(frozen=True)
class Finding:
    """One finding: its proofs (forge test names, file stem) and the regression tests covering it."""

    name: str
    proof_file: str
    proofs: tuple[str, ...]
    regressions: tuple[str, ...]


FINDINGS = (
    Finding(
        "F1 silent attester locks escrow",
        "F1",
        (
            "test_F1_OneSilentAttesterLeavesTheEscrowLockedAYearLaterWithEveryExitReverting",
            "test_F1_TheOnlyEscapeWideningTheWindowMakesEveryOtherCommittedJobDisputableAgain",
        ),
        (
            "test_F1_SilentAttesterAfterCommitIsEscalatedAndGovernanceReleases",
            "test_F1_UnresolvedEscalationEndsByTheDefaultAfterTheResolutionWindow",
            "test_F1_GovernanceCannotResolveAfterTheResolutionWindow",
            "test_F1_EscalationWaitsForTheAttestationWindowAndNeedsAMissingSignature",
            "test_F1_DisputeLeftUnresolvedEndsByTheDefault",
        ),
    ),
    Finding(
        "F2 fee/window read at settlement",
        "F2",
        (
            "test_F2_FeeRaisedToAllAfterFullAttestationCutsTheProvidersToTheirPrices",
            "test_F2_WindowSetToZeroMidWindowBlocksAPendingDispute",
        ),
        (
            "test_F2_FeeRaisedAfterOpeningDoesNotChangeThePayout",
            "test_F2_WindowShrunkMidWindowDoesNotBlockAPendingDispute",
            "test_F2_JobOpenedRecordsTheTermsAndJobTermsReturnsThem",
        ),
    ),
    Finding(
        "F3 unbounded proposal TTL",
        "F3",
        ("test_F3_MaxProposalTtlMakesEveryLaterProposeOverflowSoGovernanceIsBricked",),
        (
            "test_F3_HugeProposalTtlIsRefusedSoGovernanceCannotBeBricked",
            "test_F3_SettingsOutsideTheirRangesAreRefused",
        ),
    ),
    Finding(
        "F4 requester aborts for free",
        "F4",
        ("test_F4_RequesterAbortsAfterReadyWithAFullRefundAndTheOwnersGetNothing",),
        (
            "test_F4_RequesterAbortAfterReadyPaysTheOwnersPrices",
            "test_F4_RequesterWhoIsAlsoAnOwnerGetsNoMoreByAbortingAsOwner",
            "test_F4_DroppedLinkAbortByTheComputePartyReturnsTheRequesterNoMoreThanItsOwnAbort",
            "test_F4_RequesterWithholdingItsAttestationGetsNoMoreThanItsOwnAbort",
            "test_F4_OwnerWhoAbortsAfterConsentingEarnsNothing",
            "test_F4_RequesterAbortWhileOpenRefundsEverything",
        ),
    ),
    Finding(
        "F5 removed member's source usable",
        "F5",
        ("test_F5_RemovedMembersSourceStillOpensJobsByAutoConsentAndNobodyCanRetireIt",),
        (
            "test_F5_RemovedOwnersSourceCannotBeUsedEvenWithAutoConsent",
            "test_F5_GovernanceRetiresARemovedMembersSource",
        ),
    ),
    Finding(
        "F6 roles checked only at creation",
        "F6",
        (
            "test_F6_ComputePartyStrippedOfComputeStillCommits",
            "test_F6_ProviderStrippedOfProviderStillUpdatesItsCommitment",
        ),
        (
            "test_F6_ComputePartyStrippedOfComputeCannotCommit",
            "test_F6_ProviderStrippedOfProviderCannotUpdateItsCommitment",
        ),
    ),
    Finding(
        "F7 stray tokens lost",
        "F7",
        ("test_F7_TokensSentToSettlementBreakTheEscrowInvariantAndCannotBeSwept",),
        ("test_F7_TokensSentToSettlementAreStrayAndOnlyTheStrayPartIsSwept",),
    ),
    Finding(
        "F8 no price cap on opening",
        "F8",
        ("test_F8_ProviderFrontRunsOpenJobWithAPriceOf980AndTakesThePool",),
        ("test_F8_PriceRaisedInFrontOfOpenJobMakesItRevert",),
    ),
    Finding(
        "also: outsider allowance",
        "Also",
        ("test_Also_OutsiderHoldsAnAllowanceAndMovesMembersTokens",),
        ("test_Also_OutsiderCannotBeGrantedOrSpendAnAllowance",),
    ),
    Finding(
        "also: re-admitted approvals",
        "Also",
        ("test_Also_ReadmittedMembersOldApprovalCountsAgain",),
        ("test_Also_ReadmittedMembersOldApprovalDoesNotCount",),
    ),
    Finding(
        "also: no cancel/revoke",
        "Also",
        ("test_Also_ProposalsCannotBeCancelledNorApprovalsRevoked",),
        ("test_Also_ProposerCancelsAndAMemberRevokesItsApproval",),
    ),
    Finding(
        "also: anchoring without role/tags",
        "Also",
        ("test_Also_AMemberWithoutAuditorOrValidatorAnchorsUnderAnotherMembersTag",),
        ("test_Also_AnchoringNeedsAuditorOrValidatorAndTagsAreNamespacedBySender",),
    ),
)

Results = dict[str, bool]  # test name -> passed
Reasons = dict[str, str]  # test name -> why it failed (forge's decoded revert)


class BuildFailed(Exception):
    """A temporary project did not compile for a reason other than a proof's API mismatch."""


def _forge_env() -> dict[str, str]:
    return {**os.environ, "FOUNDRY_PROFILE": "default", "FOUNDRY_OPTIMIZER": "false"}


def _project(dest: Path, old: bool) -> None:
    """Lay out a Foundry project in `dest` from the old commit's sources or this tree's."""
    dest.mkdir()
    if old:
        archive = subprocess.run(
            [
                "git",
                "archive",
                "--format=tar",
                OLD_COMMIT,
                "contracts/src",
                "contracts/test/fixtures",
                "contracts/test/lib",
            ],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest.parent / "archive", filter="data")
        for part in ("src", "test"):
            shutil.move(dest.parent / "archive" / "contracts" / part, dest / part)
    else:
        shutil.copytree(CONTRACTS / "src", dest / "src")
        for part in ("fixtures", "lib"):
            shutil.copytree(CONTRACTS / "test" / part, dest / "test" / part)
        for regression in CONTRACTS.glob("test/Findings*.t.sol"):
            shutil.copy(regression, dest / "test" / regression.name)
    shutil.copytree(CONTRACTS / "tools", dest / "tools")
    shutil.copy(CONTRACTS / "foundry.toml", dest / "foundry.toml")
    (dest / "node_modules").symlink_to(CONTRACTS / "node_modules")
    proofs = dest / PROOF_DIR
    proofs.mkdir(parents=True)
    for source in PROOFS.glob("*.sol"):
        shutil.copy(source, proofs / source.name)
    shutil.copy(PROOFS / ("adapter_old" if old else "adapter_new") / "OpenAdapter.sol", proofs / "OpenAdapter.sol")


def _run(project: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        [str(project / "tools" / "forge"), "test", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        env=_forge_env(),
    )
    return proc.returncode, proc.stdout, proc.stderr


def _results(stdout: str) -> tuple[Results, Reasons]:
    """Test name -> passed, and the failed ones' reasons, from `forge test --json` (one JSON
    object, suites keyed by path:Contract)."""
    start = stdout.find("{")
    if start < 0:
        return {}, {}
    suites = json.loads(stdout[start:])
    tests = {name.split("(")[0]: result for suite in suites.values() for name, result in suite["test_results"].items()}
    passed = {name: result["status"] == "Success" for name, result in tests.items()}
    return passed, {name: str(result.get("reason")) for name, result in tests.items() if not passed[name]}


def _broken_proofs(output: str) -> dict[str, str]:
    """Proof file stem -> the first compiler error in it, from forge's build output."""
    broken: dict[str, str] = {}
    error = ""
    for line in output.splitlines():
        if line.startswith("Error"):
            error = line.split(":", 1)[-1].strip()
        match = re.search(rf"{PROOF_DIR}/(\w+)\.t\.sol", line)
        if match and error:
            broken.setdefault(match.group(1), error)
    return broken


def run_old(workdir: Path) -> tuple[Results, Reasons]:
    """Every proof on the old contracts."""
    project = workdir / "old"
    _project(project, old=True)
    status, stdout, stderr = _run(project)
    results, reasons = _results(stdout)
    if not results:
        raise BuildFailed(f"the old project did not build (forge exited {status}):\n{(stdout + stderr)[-3000:]}")
    return results, reasons


def run_new(workdir: Path) -> tuple[Results, Reasons, dict[str, str]]:
    """The proofs that compile and the regression tests on the new contracts, the failures'
    reasons, and the proofs dropped because they do not compile against the new API (with the
    compiler's reason)."""
    project = workdir / "new"
    _project(project, old=False)
    dropped: dict[str, str] = {}
    for _ in range(MAX_BUILDS):
        status, stdout, stderr = _run(project)
        results, reasons = _results(stdout)
        if results:
            return results, reasons, dropped
        broken = _broken_proofs(stdout + stderr)
        if not broken:
            break
        for stem, reason in broken.items():
            (project / PROOF_DIR / f"{stem}.t.sol").unlink()
            dropped[stem] = reason
    raise BuildFailed(f"the new project did not build (forge exited {status}):\n{(stdout + stderr)[-3000:]}")


def _cell(results: Results, tests: tuple[str, ...]) -> tuple[str, bool]:
    """'yes' when every test passed, 'no' when none did, else 'k of n'; and whether all passed."""
    passed = sum(results.get(test, False) for test in tests)
    missing = [test for test in tests if test not in results]
    if missing:
        return f"MISSING {', '.join(missing)}", False
    text = "yes" if passed == len(tests) else "no" if passed == 0 else f"{passed} of {len(tests)}"
    return text, passed == len(tests)


def table(old: Results, new: Results, dropped: dict[str, str]) -> tuple[str, bool]:
    """The report table, and whether every finding is proved on the old contracts and fixed on the new."""
    header = ("finding", "proof on old (bug present?)", "proof on new (bug present?)", "regression tests on new pass?")
    rows = [header]
    ok = True
    for finding in FINDINGS:
        on_old, all_old = _cell(old, finding.proofs)
        if finding.proof_file in dropped:
            on_new, none_new = "does not compile (see below)", True
        else:
            on_new, _ = _cell(new, finding.proofs)
            none_new = not any(new.get(test, True) for test in finding.proofs)
        regression, all_new = _cell(new, finding.regressions)
        count = len(finding.regressions)
        rows.append((finding.name, on_old, on_new, f"{regression} ({count} test{'s' if count > 1 else ''})"))
        ok = ok and all_old and none_new and all_new
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    for stem, reason in sorted(dropped.items()):
        lines.append(f"{stem}.t.sol does not compile against the new API: {reason}")
    return "\n".join(lines), ok


def main() -> int:
    """Both projects, then the table; exit 0 only when every finding is proved and fixed."""
    with tempfile.TemporaryDirectory(prefix="custos-findings-") as tmp:
        try:
            old, old_reasons = run_old(Path(tmp))
            new, new_reasons, dropped = run_new(Path(tmp))
        except BuildFailed as exc:
            print(exc, file=sys.stderr)
            return 2
        except subprocess.CalledProcessError as exc:  # git archive: a shallow clone lacks the old commit
            print(f"cannot read the old sources (commit {OLD_COMMIT}): {exc.stderr.decode().strip()}", file=sys.stderr)
            return 2
    text, ok = table(old, new, dropped)
    print(text)
    proofs = [proof for finding in FINDINGS for proof in finding.proofs]
    print("\nWhy each proof fails on the new contracts (the fix refusing the bad behaviour):")
    for proof in proofs:
        if proof in new_reasons:
            print(f"  {proof}: {new_reasons[proof]}")
    for name, reason in {**old_reasons, **{k: v for k, v in new_reasons.items() if k not in proofs}}.items():
        print(f"UNEXPECTED FAILURE {name}: {reason}")
    print("every finding present on the old contracts and fixed on the new" if ok else "FINDINGS NOT SETTLED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

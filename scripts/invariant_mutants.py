"""Shows that each forge invariant catches a bug planted for it (mutation check, not a test).

For each invariant: patch contracts/src with the planted bug, run only that invariant, expect
it to FAIL, restore the source. Usage: `.venv/bin/python scripts/invariant_mutants.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
FORGE = CONTRACTS / "tools" / "forge"  # the npm shim always exits 0

# invariant → [(file, original text, planted text)]; what the bug does is said in `why`.
MUTANTS = {
    "invariant_TokenHeldEqualsEscrowsPlusCredits": (
        "withdraw pays out but leaves the credit on the books",
        [("src/Settlement.sol", "        _credits[msg.sender] = 0;\n", "")],
    ),
    "invariant_NoJobFinalisedOrPaidTwice": (
        "finalize accepts an already finalised job and Settlement keeps the escrow after release "
        "(either check alone already stops a second payout)",
        [
            (
                "src/JobLedger.sol",
                "        _requireStatus(jobId, job, JobTypes.Status.Committed);\n        uint256 needed",
                "        uint256 needed",
            ),
            ("src/Settlement.sol", "        _escrow[jobId] = 0;\n", ""),
        ],
    ),
    "invariant_OnlyMembersChangeState": (
        "AuditAnchor.anchor forgets onlyMember",
        [
            (
                "src/AuditAnchor.sol",
                "external onlyMember returns (uint256 batchId)",
                "external returns (uint256 batchId)",
            )
        ],
    ),
    "invariant_CreditsGoToParticipantsOfTheirJob": (
        "the fee share and dust go to tx.origin instead of compute party 0",
        [
            (
                "src/Settlement.sol",
                "_credit(jobId, computeParties[0], computeShare + dust);",
                "_credit(jobId, tx.origin, computeShare + dust);",
            )
        ],
    ),
}


def run(invariant: str) -> tuple[bool, str]:
    """Run one invariant; return (failed, the forge line that reports it)."""
    env = {**os.environ, "FOUNDRY_PROFILE": os.environ.get("FOUNDRY_PROFILE", "default")}
    proc = subprocess.run(
        [str(FORGE), "test", "--match-contract", "InvariantsTest", "--match-test", invariant],
        cwd=CONTRACTS,
        capture_output=True,
        text=True,
        env=env,
    )
    reasons = [line for line in proc.stdout.splitlines() if line.startswith("[FAIL") or line.startswith("[PASS")]
    failed = proc.returncode != 0 and any(line.startswith("[FAIL") for line in reasons)
    return failed, (reasons[0] if reasons else proc.stdout[-500:] + proc.stderr[-500:])


def main() -> int:
    """Plant each bug, run its invariant, restore; exit 1 if any invariant missed its bug."""
    missed = 0
    for invariant, (why, patches) in MUTANTS.items():
        originals = {}
        try:
            for name, old, new in patches:
                path = CONTRACTS / name
                originals.setdefault(path, path.read_text())
                text = path.read_text()
                if old not in text:
                    raise SystemExit(f"{name}: the text to mutate is gone; update {__file__}")
                path.write_text(text.replace(old, new, 1))
            failed, line = run(invariant)
        finally:
            for path, text in originals.items():
                path.write_text(text)
        missed += not failed
        print(f"{'caught' if failed else 'MISSED'}: {invariant} — planted: {why}\n    {line.strip()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

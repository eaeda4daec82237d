"""scripts/findings_old_vs_new.py stays truthful: its finding table names real tests, and its verdict
fails when a proof still holds on the new contracts, a regression test fails, or a proof is missing.

The script itself (two forge projects, ~20 s) is run by hand; these checks take milliseconds.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "findings_old_vs_new.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("findings_old_vs_new", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SCRIPT_MODULE = _script()
FINDINGS = SCRIPT_MODULE.FINDINGS


def _tests_in(paths: list[Path]) -> set[str]:
    return {name for path in paths for name in re.findall(r"function (test_\w+)\(", path.read_text())}


def test_every_proof_and_regression_test_is_in_the_table_and_every_name_in_it_exists() -> None:
    proofs = _tests_in(sorted(SCRIPT_MODULE.PROOFS.glob("*.t.sol")))
    regressions = _tests_in(sorted(SCRIPT_MODULE.CONTRACTS.glob("test/Findings*.t.sol")))
    listed_proofs = {name for finding in FINDINGS for name in finding.proofs}
    listed_regressions = {name for finding in FINDINGS for name in finding.regressions}
    assert listed_proofs == proofs
    # Key rotation and the timelock are new features with no finding on the old contracts to prove.
    unproved = {
        "test_Also_TimelockedMintWaitsItsDelayAfterTheThreshold",
        "test_Also_KeyRotationMovesRolesCreditsSourcesAndTokensToTheSuccessor",
    }
    assert listed_regressions == regressions - unproved
    for finding in FINDINGS:
        text = (SCRIPT_MODULE.PROOFS / f"{finding.proof_file}.t.sol").read_text()
        assert all(f"function {proof}(" in text for proof in finding.proofs), finding.name


def _all(names: list[str], passed: bool) -> dict[str, bool]:
    return dict.fromkeys(names, passed)


PROOFS = [name for finding in FINDINGS for name in finding.proofs]
REGRESSIONS = [name for finding in FINDINGS for name in finding.regressions]


def test_the_verdict_holds_only_when_proved_on_old_refuted_on_new_and_regressions_pass() -> None:
    old = _all(PROOFS, True)
    new = {**_all(PROOFS, False), **_all(REGRESSIONS, True)}
    text, ok = SCRIPT_MODULE.table(old, new, {})
    assert ok
    assert text.splitlines()[2].split(" | ")[1].strip() == "yes"

    still_buggy = {**new, FINDINGS[0].proofs[0]: True}
    assert not SCRIPT_MODULE.table(old, still_buggy, {})[1]
    regression_fails = {**new, FINDINGS[3].regressions[-1]: False}
    assert not SCRIPT_MODULE.table(old, regression_fails, {})[1]
    not_proved = {**old, FINDINGS[7].proofs[0]: False}
    assert not SCRIPT_MODULE.table(not_proved, new, {})[1]
    missing = {name: result for name, result in new.items() if name != FINDINGS[5].regressions[0]}
    text, ok = SCRIPT_MODULE.table(old, missing, {})
    assert not ok
    assert "MISSING" in text


def test_a_proof_that_no_longer_compiles_is_named_and_its_regression_tests_decide() -> None:
    output = (
        "Compiling 40 files with Solc 0.8.37\n"
        "Error: Compiler run failed:\n"
        'Error (9582): Member "sweep" not found or not visible after argument-dependent lookup.\n'
        "  --> test/findings/F7.t.sol:14:9:\n"
    )
    dropped = SCRIPT_MODULE._broken_proofs(output)
    assert dropped == {"F7": 'Member "sweep" not found or not visible after argument-dependent lookup.'}
    old = _all(PROOFS, True)
    f7 = next(finding for finding in FINDINGS if finding.proof_file == "F7")
    new = {**_all([p for p in PROOFS if p not in f7.proofs], False), **_all(REGRESSIONS, True)}
    text, ok = SCRIPT_MODULE.table(old, new, dropped)
    assert ok
    assert "F7.t.sol does not compile against the new API" in text
    assert not SCRIPT_MODULE.table(old, {**new, f7.regressions[0]: False}, dropped)[1]

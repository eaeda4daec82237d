"""scripts/invariant_mutants.py stays runnable: every mutant's anchor is in its contract exactly once.

The script itself (forge campaigns per mutant) runs in `make test-mutants`; this catches a
stale anchor in seconds, in the Python suite, with the mutant's name in the message.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "invariant_mutants.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("invariant_mutants", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MUTANTS = _script().MUTANTS


def test_there_are_at_least_twelve_distinct_mutants_each_naming_the_property_that_catches_it() -> None:
    assert len(MUTANTS) >= 12
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    properties = ("escrow conserved", "per-payee:", "roles:", "finalise:", "settings:", "liveness:", "budget:")
    assert all(m.caught_by in properties for m in MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_anchor_occurs_exactly_once_and_the_plant_changes_it(mutant: Any) -> None:
    text = (SCRIPT.parent.parent / "contracts" / mutant.path).read_text()
    assert text.count(mutant.anchor) == 1, f"{mutant.name}: anchor gone or ambiguous in {mutant.path}"
    assert mutant.planted != mutant.anchor


def test_a_missing_anchor_stops_the_script_with_the_mutants_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "X.sol").write_text("contract X {}\n")
    monkeypatch.setattr(script, "CONTRACTS", tmp_path)
    stale = script.Mutant("stale", "why", "src/X.sol", "not there", "", "roles:")
    with pytest.raises(script.AnchorMissing, match="'stale'"):
        script.plant(stale)
    assert (tmp_path / "src" / "X.sol").read_text() == "contract X {}\n"

"""SIGKILL under load, 20 times: no received receipt is ever lost; the node comes back sealing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _soak_module():
    spec = importlib.util.spec_from_file_location("chain_soak", REPO / "scripts" / "chain_soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_node_killed_twenty_times_under_load_keeps_every_received_receipt(tmp_path: Path) -> None:
    summary = _soak_module().run_soak(tmp_path / "chain", kills=20, seed=7, max_delay=0.4)
    assert summary["kills"] == 20
    assert summary["receipts_checked"] > 20  # the load really ran between kills

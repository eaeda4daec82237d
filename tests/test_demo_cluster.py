"""`custos demo --nodes N`: the flagship job on four organisations' nodes, and a clear refusal of a bad N."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from custos.cli import app
from custos.demo import Demo
from ledger.bindings import JobStatus
from tests.small_demo import small_demo_config
from tests.waiting import wait_for


def test_demo_refuses_more_nodes_than_organisations(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--nodes", "9", "--dir", str(tmp_path / "demo")])

    assert result.exit_code == 1
    assert "--nodes must be between 1 and 5" in result.output and "Traceback" not in result.output


def _head(rpc: str) -> tuple[int, str]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", False]}
    block = httpx.post(rpc, json=body, timeout=10).json()["result"]
    return int(block["number"], 16), block["hash"]


def _block_hash(rpc: str, height: int) -> str | None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [hex(height), False]}
    block = httpx.post(rpc, json=body, timeout=10).json()["result"]
    return None if block is None else str(block["hash"])


@pytest.mark.timeout(300)
def test_demo_with_four_nodes_finalises_the_job_sealed_by_a_quorum_of_four_validators(tmp_path: Path) -> None:
    lines: list[str] = []
    demo = Demo(small_demo_config(tmp_path / "demo", nodes=4, deadline=120), lines.append)
    try:
        outcome = demo.run()

        assert outcome.status == JobStatus.FINALIZED
        said = [m for line in lines if (m := re.search(r"sealed by (\d) of (\d) validators", line))]
        assert said and int(said[-1][2]) == 4 and int(said[-1][1]) >= 3, lines[-3:]
        nodes = sorted({demo.rpc_of[name] for name in demo.rpc_of})
        assert len(nodes) == 4
        # Each party's gateway (with its job runner) talks to its own organisation's node.
        for name, gateway in demo.gateway_processes.items():
            args = [str(a) for a in gateway.args]  # launch_gateway passes a list
            assert args[args.index("--rpc") + 1] == demo.rpc_of[name], name
            assert any(f"gateway of {name}" in line and f"its own node {demo.rpc_of[name]}" in line for line in lines)
        assert len({demo.rpc_of[name] for name in demo.gateway_processes}) == 4
        height, head = _head(outcome.rpc)
        # Every organisation's node holds the same final block at the job's end height.
        for rpc in nodes:
            assert wait_for(lambda r=rpc: _block_hash(r, height), 30, f"block {height} at {rpc}") == head
    finally:
        demo.stop()

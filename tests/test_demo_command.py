"""`custos demo`, the README's first command, run as a user runs it: `make demo` in a fresh folder.

The command runs in its own process and session (as from a terminal), with nothing from this
test process but the environment: its exit status, every line of its report, and afterwards
no process of its session left and no port it printed still held. The default run (2,000
businesses, 2048-bit Paillier, 4 iterations, the privacy step) is the one tested, so what the
README promises is what passes; the Ctrl-C test interrupts a small run (`--businesses 300
--key-bits 512 --epochs 1`) once its job is running.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from custos.commands.demo import INTERRUPTED
from custos.demo import PARTIES
from ledger.keystore import PASSWORD_ENV
from ledger.units import TOKEN_SYMBOL, parse_amount
from tests.cli_runs import custos_here
from tests.processes import port_free, session_processes
from tests.waiting import wait_for

CUSTOS = Path(sys.executable).with_name("custos")  # the console script `make demo` runs (.venv/bin/custos)
# A user's shell: no keystore password set (the demo's children get the development one from the demo).
USER_ENV = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}


class DemoProcess:
    """`custos demo ARGS` in `folder`, in its own session; its output read as it comes."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(CUSTOS), "demo", *args],
            cwd=folder,
            env=USER_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], lines: list[str]) -> None:
        for line in stream:  # until the process closes its end
            lines.append(line.rstrip("\n"))

    def wait(self, timeout: float) -> int:
        """Its exit status (and every line it printed read), or AssertionError after `timeout` seconds."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"custos demo still running after {timeout:.0f} s:\n" + self.text()) from None
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def text(self) -> str:
        """Everything printed so far, stdout then stderr."""
        return "\n".join([*self.out, "--- stderr ---", *self.err])

    def kill_session(self) -> None:
        """Whatever of its session is still alive, killed (clean-up after a failed test)."""
        for line in session_processes(self.process.pid):
            with contextlib.suppress(ProcessLookupError):  # it exited since
                os.kill(int(line.split()[0]), signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def ports(out: str) -> dict[str, int]:
    """The loopback ports the demo said its chain node and each organisation's gateway listen on."""
    chain = re.search(r"^chain 7017 up at http://127\.0\.0\.1:(\d+),", out, re.M)
    found = {"chain": int(chain[1])} if chain else {}
    for name, port in re.findall(r"^gateway of (\S+)\s+http://127\.0\.0\.1:(\d+)/explorer  \(", out, re.M):
        found[name] = int(port)
    return found


def assert_nothing_left(demo: DemoProcess, listening: dict[str, int]) -> None:
    """No process of the demo's session alive (within a few seconds: a gateway's pool workers exit after it),
    and none of the ports it listened on held."""
    wait_for(lambda: not session_processes(demo.process.pid), 10, "every process of the demo to exit")
    assert [name for name, port in listening.items() if not port_free(port)] == []


@pytest.fixture
def run_demo(tmp_path: Path):
    started: list[DemoProcess] = []

    def start(*args: str) -> DemoProcess:
        started.append(DemoProcess(tmp_path, *args))
        return started[-1]

    yield start
    for demo in started:
        demo.kill_session()


@pytest.mark.timeout(900)
def test_make_demo_exits_0_reports_every_line_and_leaves_no_process_behind(tmp_path: Path, run_demo) -> None:
    demo = run_demo()  # what `make demo` runs: `custos demo`, no options

    code = demo.wait(timeout=840)

    out = "\n".join(demo.out)
    assert code == 0, demo.text()
    assert "Traceback" not in demo.text() and demo.err == [], demo.text()
    listening = ports(out)
    assert sorted(listening) == sorted(["chain", *PARTIES]), out  # the chain node's URL and every explorer's
    assert "job 0: FINALIZED" in demo.out
    intersection = re.search(r"^common customers found by RSA PSI: (\d+)$", out, re.M)
    assert intersection and 0 < int(intersection[1]) < 2000, out
    auc = re.search(r"^joint model AUC (0\.\d{4})  vs bank-only (0\.\d{4}) \(", out, re.M)
    assert auc and float(auc[1]) > float(auc[2]), out  # the joint model beats the bank's features alone
    shares = re.findall(r"^  (bank|invoice-firm|card-network) +Shapley [+-]\d\.\d{4}  share +(\d+\.\d)%$", out, re.M)
    assert [name for name, _ in shares] == ["bank", "invoice-firm", "card-network"], out
    assert abs(sum(float(share) for _, share in shares) - 100) < 0.2
    assert f"escrow 1000 {TOKEN_SYMBOL} split into credits (pull with `custos payout withdraw`):" in demo.out
    credits = re.findall(rf"^  (\S+) +(\d+(?:\.\d+)?) {TOKEN_SYMBOL}$", out, re.M)
    assert sorted(name for name, _ in credits) == sorted(PARTIES), out
    assert sum(parse_amount(amount) for _, amount in credits) == parse_amount(1000)  # what the next line claims
    assert "credits sum to the escrow exactly: yes" in demo.out
    assert "verification of job 0: OK" in demo.out
    # The privacy step: the DP job finalised, each source spent its share of ε, one more job was refused.
    assert "job 1 finalized" in demo.out
    assert len(re.findall(r"^source \d by \S+ +ε spent 0\.6, remaining 0\.4 of 1; δ remaining 9e-6$", out, re.M)) == 3
    assert any(
        line.startswith("one more DP job refused on chain (PrivacyBudgetInsufficientEpsilon)") for line in demo.out
    )
    chain = tmp_path / "custos-demo" / "chain"
    assert demo.out[-1] == f"  custos audit job 0 --chain {chain} --verify"
    assert_nothing_left(demo, listening)
    # What the report says to run next works on the chain it left (the node that held it is gone).
    again = custos_here("audit", "job", "0", "--chain", str(chain), "--verify")
    assert again.exit_code == 0 and "verification of job 0: OK" in again.output, again.output


@pytest.mark.timeout(300)
def test_ctrl_c_mid_job_stops_the_chain_node_and_every_gateway_and_exits_130(tmp_path: Path, run_demo) -> None:
    demo = run_demo("--businesses", "300", "--key-bits", "512", "--epochs", "1")
    wait_for(lambda: any(": protocol (running" in line for line in demo.out), 240, "the demo's job to run")
    running = session_processes(demo.process.pid)
    assert len(running) >= 6, running  # the demo, its chain node and four gateways: what must not outlive it

    os.killpg(demo.process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    code = demo.wait(timeout=60)

    assert code == INTERRUPTED, demo.text()
    assert (
        demo.err[-1] == "interrupted: the demo's chain node and gateways are stopped; what it built is in custos-demo"
    )
    assert "Traceback" not in demo.text()
    assert_nothing_left(demo, ports("\n".join(demo.out)))

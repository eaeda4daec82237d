"""The demo's child processes: `custos chain up`, `custos gateway up --runner` and `custos runner up`.

A child on loopback listens on port 0 and prints the address it got (the chain node: `serving URL`;
the gateway: `gateway on URL`); the demo reads it from the child's log. No port is probed first and
released, so nothing else on the machine can take it before the child binds. A child placed on a
network (`Placement`) listens where the placement says. Every wait has a deadline and names the log
to read when the child exits or stays silent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx

from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV

# What `custos chain up` prints once it listens (to stderr, into its log).
_CHAIN_URL = re.compile(r"serving (http://\S+)")
# What `custos gateway up` prints once it listens, before it serves (its first line).
GATEWAY_URL = re.compile(r"^gateway on (https?://\S+) ", re.MULTILINE)


class Placement(Protocol):
    """Where each organisation's gateway runs: a command prefix (e.g. `ip netns exec NS`), its address, the
    port every gateway listens on, and the chain node's JSON-RPC URL as the organisations reach it."""

    port: int
    rpc: str

    def prefix(self, name: str) -> list[str]:
        """What to run the organisation's gateway command under."""
        ...

    def address(self, name: str) -> str:
        """The organisation's own address, where its gateway listens and peers reach it."""
        ...


def child_env() -> dict[str, str]:
    """This process's environment with the keystore password the demo's keys use (unless one is set)."""
    return {**os.environ, PASSWORD_ENV: os.environ.get(PASSWORD_ENV, DEV_PASSWORD)}


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate `process` and wait for it; kill it if it has not exited within `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch_chain_node(chain: Path, host: str, log: Path) -> subprocess.Popen[bytes]:
    """`custos chain up CHAIN --host HOST --port 0`, its output in `log` (`chain_node_url` reads its address)."""
    command = [sys.executable, "-m", "custos", "chain", "up", str(chain), "--host", host, "--port", "0"]
    with log.open("w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=child_env())


def launch_gateway(
    name: str,
    party: Path,
    keystore: Path,
    deployment: Path,
    rpc: str,
    protocol_timeout: float,
    network: Placement | None,
) -> subprocess.Popen[bytes]:
    """`custos gateway up --runner` for organisation `name` (its workspace `party`, its log `party/gateway.log`).

    On loopback it listens on a port it picks itself (`gateway_url` reads it); with `network`, at the
    organisation's address and the placement's port, under the placement's command prefix.
    """
    host = network.address(name) if network else "127.0.0.1"
    command = [
        *(network.prefix(name) if network else []),
        sys.executable,
        *("-m", "custos", "gateway", "up", "--keystore", str(keystore / f"{name}.json"), "--rpc", rpc),
        *("--deployment", str(deployment), "--state", str(party / "gateway"), "--workspace", str(party)),
        *("--runner", "--host", host, "--port", str(network.port if network else 0)),
        *(("--public-url", f"http://{host}:{network.port}") if network else ()),
        *("--protocol-timeout", str(protocol_timeout)),
    ]
    log = party / "gateway.log"
    if log.exists():  # started again (its last process died): keep that one's log, its last steps say why
        log.replace(party / "gateway.previous.log")
    with log.open("w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=child_env())


def launch_runner(party: Path, job_id: int, protocol_timeout: float) -> subprocess.Popen[str]:
    """`custos runner up` on the workspace `party`, following `job_id`: progress lines (JSON) on its stdout,
    its log in `party/runner.log`."""
    command = [sys.executable, "-m", "custos", "runner", "up", "--workspace", str(party), "--job", str(job_id)]
    command += ["--protocol-timeout", str(protocol_timeout)]
    with (party / "runner.log").open("w") as log:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=child_env(), text=True)


def chain_node_url(node: subprocess.Popen, log: Path, timeout: float = 60.0) -> str:
    """The JSON-RPC URL of the node `launch_chain_node` started, once it answers there."""
    url = reported_url("the chain node", log, _CHAIN_URL, node, timeout)
    wait_rpc(url, node, timeout)
    return url


def gateway_url(
    name: str, party: Path, process: subprocess.Popen, network: Placement | None, timeout: float = 120.0
) -> str:
    """Where the gateway `launch_gateway` started for `name` serves, once it serves its EIP-712 domain: the
    address its placement gives it, or the one it reported."""
    if network:
        url = f"http://{network.address(name)}:{network.port}"
    else:
        url = reported_url(f"the gateway of {name}", party / "gateway.log", GATEWAY_URL, process, timeout)

    def domain() -> httpx.Response:
        return httpx.get(url + "/domain", timeout=1).raise_for_status()

    wait_up(f"the gateway at {url} (see {party / 'gateway.log'})", process, domain, timeout)
    return url


def reported_url(what: str, log: Path, pattern: re.Pattern[str], process: subprocess.Popen, timeout: float) -> str:
    """The address `process` printed into `log` (`pattern`'s first group), for a child that listens on port 0;
    RuntimeError naming the log if it exits first or prints none within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        match = pattern.search(log.read_text(errors="replace"))
        if match:
            return match[1]
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it listened; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not say where it listens within {timeout:.0f} s; see {log}")
        time.sleep(0.1)


def wait_up(what: str, process: subprocess.Popen, answers: Callable[[], object], timeout: float) -> None:
    """Wait until `answers()` returns without an HTTP error; RuntimeError if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            answers()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


def wait_rpc(url: str, node: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until the chain node at `url` answers `eth_chainId`; RuntimeError if it exits or stays silent."""
    probe = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    wait_up(f"the chain node at {url}", node, lambda: httpx.post(url, json=probe, timeout=1), timeout)

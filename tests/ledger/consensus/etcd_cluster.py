"""Real etcd members for the consortium tests: on loopback, or one per network namespace.

Every process is started by the test and stopped by it (by pid), data in the test's tmp dir.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from custos.ports import on_free_ports, raise_if_port_taken
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.rounds import Rounds

if TYPE_CHECKING:
    from tests.ledger.consensus.netns import Namespaces

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


@dataclass
class EtcdMember:
    """One etcd member process."""

    name: str
    client_url: str
    peer_url: str
    data_dir: Path
    netns: str | None = None
    extra: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def command(self, initial_cluster: str, token: str) -> list[str]:
        """The etcd command line."""
        cmd = [
            ETCD,
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-token", token,
            "--initial-cluster-state", "new",
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--pre-vote",  # a healed member does not depose the majority's leader (docs/chain.md)
            "--log-level", "error",
            *self.extra,
        ]  # fmt: skip
        if self.netns:
            return ["ip", "netns", "exec", self.netns, *cmd]
        return cmd

    @property
    def log(self) -> Path:
        """Where the process writes its output: beside its data."""
        return self.data_dir.parent / f"{self.name}.etcd.log"

    def start(self, initial_cluster: str, token: str) -> None:
        """Start the process (output appended to its log)."""
        log = open(self.log, "ab")  # noqa: SIM115 — lives as long as the process
        self.process = subprocess.Popen(self.command(initial_cluster, token), stdout=log, stderr=log)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class EtcdCluster:
    """A started cluster."""

    members: list[EtcdMember]
    # An ssl.SSLContext with the client certificate, for a TLS cluster.
    verify: Any = True

    @property
    def client_urls(self) -> list[str]:
        """Every member's client URL."""
        return [m.client_url for m in self.members]

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Poll /health on every member until all answer healthy; fails with the last answer, or with
        PortTaken (custos.ports) when a member exited because a port it was given was taken."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                healthy = all(
                    httpx.get(url + "/health", timeout=2, verify=self.verify).json().get("health") == "true"
                    for url in self.client_urls
                )
                if healthy:
                    return
                last = "unhealthy"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            for m in self.members:
                if m.process is not None and m.process.poll() is not None:
                    raise_if_port_taken(m.process, m.log, f"etcd {m.name}")
                    raise AssertionError(f"etcd {m.name} exited with {m.process.returncode}; see {m.log}")
            time.sleep(0.2)
        raise AssertionError(f"etcd cluster not healthy after {timeout} s: {last}")

    def stop(self) -> None:
        """Stop every member."""
        for m in self.members:
            m.stop()


def loopback_cluster(
    root: Path, size: int = 1, extra: Sequence[str] = (), scheme: str = "http", verify: Any = True
) -> EtcdCluster:
    """Start `size` members on 127.0.0.1 and return once all are healthy (`verify`: the TLS context to ask with).

    etcd cannot listen on port 0 (every member's peer URL is fixed before any starts), so the ports are
    picked free and the whole cluster starts again on fresh ones if a member finds one taken (custos.ports).
    """

    def launch(ports: list[int]) -> EtcdCluster:
        members = []
        for i in range(size):
            shutil.rmtree(root / f"etcd{i}", ignore_errors=True)  # a fresh data dir and log per launch
            data = root / f"etcd{i}" / "data"
            data.parent.mkdir(parents=True)
            client, peer = ports[2 * i], ports[2 * i + 1]
            members.append(
                EtcdMember(f"m{i}", f"{scheme}://127.0.0.1:{client}", f"http://127.0.0.1:{peer}", data, extra=extra)
            )
        cluster = EtcdCluster(members, verify)
        initial = ",".join(f"{m.name}={m.peer_url}" for m in members)
        token = f"custos-test-{secrets.token_hex(4)}"
        for m in members:
            m.start(initial, token)
        try:
            cluster.wait_healthy()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    return on_free_ports(2 * size, launch)


def namespace_members(nets: Namespaces, root: Path) -> EtcdCluster:
    """One member per namespace, on its address (client :2379, peer :2380); not started yet."""
    return EtcdCluster(
        [
            EtcdMember(
                f"e{i}",
                f"http://{nets.ip(i)}:2379",
                f"http://{nets.ip(i)}:2380",
                root / f"etcd{i}" / "data",
                nets.name(i),
            )
            for i in range(nets.count)
        ]
    )


def start_members(etcd: EtcdCluster, token: str) -> None:
    """Start every member of a new cluster and wait until all are healthy."""
    initial = ",".join(f"{m.name}={m.peer_url}" for m in etcd.members)
    for m in etcd.members:
        m.data_dir.parent.mkdir(parents=True, exist_ok=True)
        m.start(initial, token)
    etcd.wait_healthy()


@contextmanager
def one_member_rounds(root: Path, chain_id: int) -> Iterator[Rounds]:
    """`Rounds` for `chain_id` over a one-member loopback etcd in `root`; etcd stops on exit."""
    etcd = loopback_cluster(root, size=1)
    try:
        client = EtcdClient(etcd.client_urls)
        yield Rounds(client, Keyspace(chain_id), chain_id)
        client.close()
    finally:
        etcd.stop()

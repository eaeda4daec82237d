"""custos.ports: a child given a port that another process took first is launched again on fresh ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custos import ports
from custos.demo_cluster import start_etcd
from custos.demo_processes import stop_process
from custos.ports import PortTaken, free_ports, on_free_ports
from tests.ledger.consensus.etcd_cluster import loopback_cluster


@pytest.fixture
def squatter() -> Iterator[int]:
    """Another program listening on a loopback port: the one a launch is about to be handed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def squat_first_pick(monkeypatch: pytest.MonkeyPatch, squatter: int, index: int) -> list[list[int]]:
    """Make the first ports `on_free_ports` picks hold the squatter's port at `index` (as if it took that port
    right after the pick); later picks are real. Returns every pick, in order."""
    picks: list[list[int]] = []

    def pick(count: int, host: str = "127.0.0.1") -> list[int]:
        fresh = free_ports(count, host)
        picks.append(fresh if picks else [*fresh[:index], squatter, *fresh[index + 1 :]])
        return picks[-1]

    monkeypatch.setattr(ports, "free_ports", pick)
    return picks


def test_free_ports_are_distinct() -> None:
    picked = free_ports(16)

    assert len(set(picked)) == 16 and all(0 < port < 65536 for port in picked)


def test_etcd_whose_client_port_another_program_took_starts_again_on_fresh_ports(
    tmp_path: Path, squatter: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = squat_first_pick(monkeypatch, squatter, index=0)

    process, client = start_etcd(tmp_path / "etcd", tmp_path / "etcd.log")
    try:
        assert len(picks) == 2, "a second launch after the taken port"
        assert squatter not in picks[1]
        assert client == f"http://127.0.0.1:{picks[1][0]}"
        assert httpx.get(client + "/health", timeout=5).json()["health"] == "true"
    finally:
        stop_process(process)


def test_a_test_etcd_cluster_whose_peer_port_was_taken_starts_again_on_fresh_ports(
    tmp_path: Path, squatter: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = squat_first_pick(monkeypatch, squatter, index=1)  # member 0's peer port

    cluster = loopback_cluster(tmp_path, size=2)
    try:
        assert len(picks) == 2 and squatter not in picks[1]
        assert cluster.members[0].peer_url == f"http://127.0.0.1:{picks[1][1]}"
        assert all(m.process is not None and m.process.poll() is None for m in cluster.members)
    finally:
        cluster.stop()


def test_a_launch_that_loses_its_port_every_time_gives_up_after_the_bound_and_says_why() -> None:
    launches: list[list[int]] = []

    def launch(picked: list[int]) -> None:
        launches.append(picked)
        raise PortTaken(f"etcd: listen tcp 127.0.0.1:{picked[0]}: bind: address already in use")

    with pytest.raises(RuntimeError, match=r"each of 3 launches; last: etcd: listen tcp .*address already in use"):
        on_free_ports(2, launch, attempts=3)
    assert len(launches) == 3


def test_a_launch_failing_for_another_reason_is_not_retried() -> None:
    launches: list[list[int]] = []

    def launch(picked: list[int]) -> None:
        launches.append(picked)
        raise RuntimeError("etcd exited with status 1: bad flag")

    with pytest.raises(RuntimeError, match="bad flag"):
        on_free_ports(1, launch)
    assert len(launches) == 1

"""Ports for child processes that must be told theirs before they start, with a bounded retry.

A child that can listen on port 0 and report the address it got does that instead, and needs
nothing from here (`custos chain up --port 0`, `custos gateway up --port 0`, anvil: see
`custos.demo_processes`). A child that cannot is given ports that are free when picked: an etcd
member (its peer URL is in every member's `--initial-cluster` before any member starts), or
consortium nodes that name each other in `--peers`. Another process can take such a port between
the pick and the child's bind; the child then exits saying "address already in use".
`on_free_ports` launches again on fresh ports when that happens, a bounded number of times.

A launch function given to `on_free_ports` starts its children on the ports it is handed and
waits until they listen. When one exits first, the launch stops every child it started and calls
`raise_if_port_taken`, which raises `PortTaken` if the child's log says its port was taken: that is
the only failure retried; any other failure propagates at once.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

# What etcd (Go: "bind: address already in use") and Python ("[Errno 98] Address already in use") print.
ADDRESS_IN_USE = "address already in use"
ATTEMPTS = 5

T = TypeVar("T")


class PortTaken(RuntimeError):
    """A child exited because a port it was given was taken before it could bind it."""


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct TCP ports on `host` that nobody has bound right now (all bound at once, then released)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def raise_if_port_taken(process: subprocess.Popen, log: Path, what: str) -> None:
    """PortTaken if `process` has exited and its `log` says an address it was given is in use; else nothing."""
    if process.poll() is None or not log.exists():
        return
    lines = [line for line in log.read_text(errors="replace").splitlines() if ADDRESS_IN_USE in line.lower()]
    if lines:
        raise PortTaken(f"{what}: {lines[-1].strip()}")


def on_free_ports(count: int, launch: Callable[[list[int]], T], attempts: int = ATTEMPTS) -> T:
    """`launch(ports)` with `count` fresh free loopback ports; again with fresh ones while it raises PortTaken.

    RuntimeError after `attempts` launches that each lost a port, naming the last one lost.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    lost: list[str] = []
    for _ in range(attempts):
        try:
            return launch(free_ports(count))
        except PortTaken as exc:
            lost.append(str(exc))
    raise RuntimeError(f"another process took a picked port on each of {attempts} launches; last: {lost[-1]}")

"""One network namespace per organisation, joined by veth pairs to a bridge this test creates (10.213.x.0/24).

Made and removed by the test (root required). A partition is the organisation's veth link
set down: its node and its etcd member lose every peer at once. Each `Namespaces` claims its subnet
with a lock file that the kernel releases when the process ends, so test runs side by side on one
machine (or a run killed before it cleaned up) never share a bridge or a namespace name.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_LOCKS = Path("/run/lock")
_SUBNETS = range(20, 220)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _claim_subnet() -> tuple[int, int]:
    """A subnet that no live process holds and no killed run left links or namespaces on; and the locked
    file descriptor that holds it (released when it is closed or the process ends)."""
    start = os.getpid() % len(_SUBNETS)
    for k in range(len(_SUBNETS)):
        subnet = _SUBNETS[(start + k) % len(_SUBNETS)]
        fd = os.open(_LOCKS / f"custos-netns-{subnet}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if Path(f"/sys/class/net/cxb{subnet}").exists() or Path(f"/run/netns/cx{subnet}o0").exists():
            os.close(fd)  # left by a run that was killed before it cleaned up: not ours to remove
            continue
        return subnet, fd
    raise RuntimeError(f"every test subnet 10.213.{_SUBNETS[0]}..{_SUBNETS[-1]}.0/24 is in use")


@dataclass
class Namespaces:
    """`count` namespaces on one bridge; the host side is 10.213.<subnet>.254."""

    count: int
    subnet: int = field(init=False)
    made: list[str] = field(default_factory=list)
    _lock: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.subnet, self._lock = _claim_subnet()

    @property
    def bridge(self) -> str:
        """The bridge's interface name."""
        return f"cxb{self.subnet}"

    def name(self, i: int) -> str:
        """Namespace of organisation i."""
        return f"cx{self.subnet}o{i}"

    def ip(self, i: int) -> str:
        """Address of organisation i."""
        return f"10.213.{self.subnet}.{i + 1}"

    def host_link(self, i: int) -> str:
        """The host side of organisation i's veth pair."""
        return f"cx{self.subnet}h{i}"

    def create(self) -> None:
        """Make the bridge and every namespace with its link up."""
        _ip("link", "add", self.bridge, "type", "bridge")
        self.made.append("bridge")
        _ip("addr", "add", f"10.213.{self.subnet}.254/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i in range(self.count):
            ns, host, inner = self.name(i), self.host_link(i), f"cx{self.subnet}n{i}"
            _ip("netns", "add", ns)
            self.made.append(ns)
            _ip("link", "add", host, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "set", host, "master", self.bridge)
            _ip("link", "set", host, "up")

    def partition(self, i: int) -> None:
        """Cut organisation i off (its link down)."""
        _ip("link", "set", self.host_link(i), "down")

    def heal(self, i: int) -> None:
        """Reconnect organisation i."""
        _ip("link", "set", self.host_link(i), "up")

    def remove(self) -> None:
        """Delete every namespace (their veth pairs go with them) and the bridge."""
        for made in reversed(self.made):
            args = ["link", "del", self.bridge] if made == "bridge" else ["netns", "del", made]
            subprocess.run(["ip", *args], capture_output=True, timeout=30)
        self.made.clear()

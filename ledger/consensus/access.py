"""etcd users and key-range permissions: each organisation writes only its own transactions, seals and evidence.

Transport is TLS with each organisation's own client certificate (`--client-cert-auth`). etcd
would take the user name from a certificate's common name, but not through its JSON gateway
("CommonName of client sending a request against gateway will be ignored"), so each
organisation's etcd user authenticates with its own password for a token. Every organisation may read
the chain's keyspace and write the shared coordination keys (`leader`, `proposal/`,
`abandoned/`, `final/`, all compare-and-create), and may write only under its own address in
`tx/`, `seal/` and `evidence/`. `apply_access` installs this, then turns authentication on
(`custos chain access`).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ledger.consensus.etcd import EtcdClient, prefix_end
from ledger.consensus.keyspace import Keyspace

ROOT_USER = "root"


class AccessError(Exception):
    """The initial passwords file is unusable."""


@dataclass(frozen=True)
class Grant:
    """One key-range permission."""

    kind: str  # "READ" or "READWRITE"
    key: bytes
    range_end: bytes


def grants_for(keyspace: Keyspace, org: bytes) -> list[Grant]:
    """What organisation `org` may read and write."""
    root = keyspace.root
    own = [b"tx/", b"seal/", b"evidence/"]
    shared = [b"proposal/", b"abandoned/", b"final/"]
    grants = [Grant("READ", root, prefix_end(root)), Grant("READWRITE", keyspace.leader, b"")]
    grants += [Grant("READWRITE", root + p, prefix_end(root + p)) for p in shared]
    grants += [
        Grant("READWRITE", root + p + org.hex().encode() + b"/", prefix_end(root + p + org.hex().encode() + b"/"))
        for p in own
    ]
    return grants


def apply_access(
    client: EtcdClient, keyspace: Keyspace, organisations: dict[str, tuple[bytes, str]], root_password: str
) -> None:
    """Create a role and a user per organisation (name → (address, its etcd password)), then enable auth.

    Run once by whoever bootstraps the etcd cluster, before auth is on; afterwards only `root`
    (with `root_password`) can change users and roles. Each organisation then changes its own
    password (`/v3/auth/user/changepw` is allowed to the user itself).
    """
    client.call("/v3/auth/user/add", {"name": ROOT_USER, "password": root_password})
    client.call("/v3/auth/user/grant", {"user": ROOT_USER, "role": ROOT_USER})
    for name, (org, password) in organisations.items():
        role = f"custos-{name}"
        client.call("/v3/auth/role/add", {"name": role})
        for grant in grants_for(keyspace, org):
            perm: dict[str, str] = {"permType": grant.kind, "key": _b64(grant.key)}
            if grant.range_end:
                perm["range_end"] = _b64(grant.range_end)
            client.call("/v3/auth/role/grant", {"name": role, "perm": perm})
        client.call("/v3/auth/user/add", {"name": name, "password": password})
        client.call("/v3/auth/user/grant", {"user": name, "role": role})
    client.call("/v3/auth/enable", {})


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def initial_passwords(path: Path, names: list[str]) -> dict[str, str]:
    """Each organisation's initial etcd password from `path` (JSON); made (random, mode 0600) if it does not exist."""
    if not path.exists():
        made = {name: secrets.token_urlsafe(18) for name in names}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(made, f, indent=1)
        return made
    try:
        given = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AccessError(f"cannot read {path}: {exc}") from None
    if not isinstance(given, dict):
        raise AccessError(f"{path} must map each organisation's name to its password")
    missing = [n for n in names if not isinstance(given.get(n), str) or not given[n]]
    if missing:
        raise AccessError(f"{path} gives no password for {', '.join(missing)}")
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise AccessError(f"{path} names organisations the consortium does not: {', '.join(unknown)}")
    return {n: given[n] for n in names}

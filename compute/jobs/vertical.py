"""The flagship job kind: align ids by RSA PSI, then train hetero-LR with Paillier, then score sources.

One run, one transcript: the guest (label holder) runs RSA blind-signature PSI with each
host in turn (learning each intersection), sends every host the common ids in one order
(hosts learn the joint intersection, as they must to train on aligned rows; they learn
nothing about ids outside it), tells the arbiter the shape of the problem, and then every
party plays its hetero-LR role. The guest's result carries the joint AUC, the utility
table over coalitions of sources and the replication-robust Shapley weights; the arbiter,
a compute party, commits it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compute.channel import Channel
from compute.errors import InvalidInput, ProtocolViolation
from compute.fl.hetero_lr.arbiter import arbiter_role
from compute.fl.hetero_lr.cipher import make_cipher
from compute.fl.hetero_lr.guest import guest_role
from compute.fl.hetero_lr.host import host_role
from compute.fl.hetero_lr.schedule import HeteroLRParams
from compute.party import Address
from compute.psi import rsa
from compute.result import canonical_json
from compute.session import Role, RoleOutput

PROTOCOL = "vertical-credit/psi-rsa+hetero-lr"
ALIGN = "align"
SHAPE = "shape"


@dataclass(frozen=True)
class VerticalParams:
    """What the requester asks for; its canonical-JSON hash is the job's parameter hash."""

    guest_source: int
    host_sources: tuple[int, ...]
    id_column: str = "id"
    label_column: str = "y"
    lr: HeteroLRParams = field(default_factory=HeteroLRParams)

    def __post_init__(self) -> None:
        if not self.host_sources or self.guest_source in self.host_sources:
            raise InvalidInput("a vertical job needs one guest source and at least one other host source")

    @property
    def source_ids(self) -> tuple[int, ...]:
        """The job's sources in the order the contribution weights use: guest first."""
        return (self.guest_source, *self.host_sources)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "protocol": PROTOCOL,
            "guest_source": self.guest_source,
            "host_sources": list(self.host_sources),
            "id_column": self.id_column,
            "label_column": self.label_column,
            "lr": self.lr.to_json(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VerticalParams:
        """Parse the parameter document; InvalidInput if it is not one."""
        try:
            if raw.get("protocol") != PROTOCOL:
                raise InvalidInput(f"parameter document is for {raw.get('protocol')!r}, not {PROTOCOL}")
            return cls(
                int(raw["guest_source"]),
                tuple(int(s) for s in raw["host_sources"]),
                str(raw["id_column"]),
                str(raw["label_column"]),
                HeteroLRParams(**raw["lr"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"malformed parameter document: {exc}") from None

    def canonical(self) -> bytes:
        """The bytes whose keccak256 is the job's parameter hash."""
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class LocalTable:
    """A party's private table, read from its data file: ids, features, labels (guest only)."""

    ids: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray | None = None

    def rows_for(self, ids: Sequence[str]) -> np.ndarray:
        """Row indices of `ids` in this table; InvalidInput if any id is not ours."""
        index = {k: i for i, k in enumerate(self.ids)}
        missing = [k for k in ids if k not in index]
        if missing:
            raise InvalidInput(f"{len(missing)} aligned ids are not in this party's data")
        return np.array([index[k] for k in ids], dtype=np.int64)


def _send_json(ch: Channel, to: Address, step: str, value: Any) -> None:
    ch.send(to, step, json.dumps(value).encode())


def _recv_json(ch: Channel, sender: Address, step: str) -> Any:
    raw = ch.recv(sender, step)
    try:
        return json.loads(raw)
    except ValueError:
        raise ProtocolViolation(sender, step, "payload is not JSON") from None


def guest(table: LocalTable, hosts: Sequence[Address], arbiter: Address, params: VerticalParams) -> Role:
    """The label holder: PSI with every host, alignment, hetero-LR guest, contribution scores."""
    if table.y is None:
        raise InvalidInput("the guest's data has no labels")

    def role(ch: Channel) -> RoleOutput:
        common = set(table.ids)
        for host in hosts:
            common &= set(rsa.receiver_role(table.ids, host, False)(ch).value)
        aligned = sorted(common)
        if len(aligned) < 2 * len(hosts) + 10:
            raise ProtocolViolation(ch.address, ALIGN, f"only {len(aligned)} common ids: too few to train on")
        for host in hosts:
            _send_json(ch, host, ALIGN, aligned)
        rows = table.rows_for(aligned)
        _send_json(ch, arbiter, SHAPE, {"rows": len(rows), "width": table.x.shape[1] + 1})
        cipher = make_cipher(params.lr.cipher, params.lr.n_bits, params.lr.obfuscation, params.lr.workers)
        assert table.y is not None  # load_table(..., label_column) gave the guest its labels
        out = guest_role(cipher, table.x[rows], table.y[rows].astype(np.float64), hosts, arbiter, params.lr)(ch)
        return RoleOutput(out.value, out.result_hash, metadata={**out.metadata, "intersection": len(aligned)})

    return role


def host(table: LocalTable, guest_address: Address, arbiter: Address, params: VerticalParams) -> Role:
    """A feature holder: PSI key holder for the guest, aligned rows, hetero-LR host."""

    def role(ch: Channel) -> RoleOutput:
        rsa.key_holder_role(table.ids, guest_address, False)(ch)
        aligned = _recv_json(ch, guest_address, ALIGN)
        if not isinstance(aligned, list) or not all(isinstance(k, str) for k in aligned):
            raise ProtocolViolation(guest_address, ALIGN, "aligned ids are not a list of strings")
        rows = table.rows_for(aligned)
        _send_json(ch, arbiter, SHAPE, {"rows": len(rows), "width": table.x.shape[1]})
        cipher = make_cipher(params.lr.cipher, params.lr.n_bits, params.lr.obfuscation, params.lr.workers)
        out = host_role(cipher, table.x[rows], guest_address, arbiter, params.lr)(ch)
        return RoleOutput(out.value, out.result_hash, metadata={**out.metadata, "intersection": len(rows)})

    return role


def arbiter(guest_address: Address, hosts: Sequence[Address], params: VerticalParams) -> Role:
    """The Paillier key holder; returns the guest's result (which it will commit)."""

    def role(ch: Channel) -> RoleOutput:
        shapes = [_recv_json(ch, p, SHAPE) for p in (guest_address, *hosts)]
        try:
            rows = {int(s["rows"]) for s in shapes}
            widths = [int(s["width"]) for s in shapes]
        except (KeyError, TypeError, ValueError):
            raise ProtocolViolation(guest_address, SHAPE, "malformed shape message") from None
        if len(rows) != 1:
            raise ProtocolViolation(guest_address, SHAPE, f"parties disagree on the aligned row count: {sorted(rows)}")
        cipher = make_cipher(params.lr.cipher, params.lr.n_bits, params.lr.obfuscation, params.lr.workers)
        return arbiter_role(cipher, guest_address, hosts, widths, params.lr.epochs)(ch)

    return role

"""`custos chain up DIR --key … --etcd …`: one organisation's node, its consensus engine and its JSON-RPC.

On first start the node re-derives the genesis from the bundle's consortium.json and
refuses a bundle whose genesis differs, then creates its store from that genesis. On every
start it verifies its stored history: each block's link, header rules and a quorum of valid
seals from the validators at its parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_utils import ValidationError

from ledger.chain.chainspec import CustosVM
from ledger.chain.encoding import addr, d
from ledger.chain.errors import HistoryError
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import STORE_DIR
from ledger.chain.params import arity, hash32
from ledger.chain.sealing import validator_set_hash
from ledger.chain.server import ChainServer
from ledger.consensus.bundle import check_bundle
from ledger.consensus.engine import Engine
from ledger.consensus.etcd import EtcdClient, EtcdTLS
from ledger.consensus.evidence import read_evidence
from ledger.consensus.replica import Replica
from ledger.consensus.timing import Timing
from ledger.consensus.validators import quorum, validators_at


@dataclass
class Service:
    """A running consortium node."""

    node: Replica
    engine: Engine
    server: ChainServer

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint."""
        return self.server.url

    def stop(self) -> None:
        """Stop serving, stop the engine, close the store."""
        self.server.stop()
        self.engine.stop()
        self.engine.client.close()
        self.node.close()


def open_replica(directory: Path, key: PrivateKey) -> Replica:
    """Open the node's store in `directory`, creating it from the checked bundle on first start."""
    directory = Path(directory)
    if not (directory / STORE_DIR).exists():
        check_bundle(directory)
        spec = GenesisSpec.from_json((directory / "genesis.json").read_text())
        validator = key if key.public_key.to_canonical_address() in spec.validators else None
        node = Replica.create(directory, spec, validator)
        assert isinstance(node, Replica)
        return node
    spec = GenesisSpec.from_json((directory / "genesis.json").read_text())
    validator = key if key.public_key.to_canonical_address() in spec.validators else None
    node = Replica.open(directory, validator, verify=False)
    assert isinstance(node, Replica)
    try:
        verify_history(node)
    except HistoryError:
        node.close()
        raise
    return node


def verify_history(node: Replica) -> int:
    """Check genesis, then every block's link, header rules and quorum of seals; returns the head height."""
    genesis = node.header_by_number(0)
    if genesis.extra_data != validator_set_hash(node.spec.validators):
        raise HistoryError("genesis extraData does not commit to the validator set of the spec")
    parent = genesis
    for number in range(1, node.head.block_number + 1):
        header = node.header_by_number(number)
        if header.parent_hash != parent.hash:
            raise HistoryError(f"block {number} does not link to block {number - 1}")
        try:
            CustosVM.validate_header(header, parent)
        except ValidationError as exc:
            raise HistoryError(f"block {number} rejected: {exc}") from None
        validators = validators_at(node, parent)
        sealers = node.sealers_of(header.hash) & validators
        if len(sealers) < quorum(len(validators)):
            raise HistoryError(f"block {number} has {len(sealers)} valid seals, quorum {quorum(len(validators))}")
        parent = header
    return parent.block_number


def start_service(
    directory: Path,
    key: PrivateKey,
    etcd: list[str],
    host: str = "127.0.0.1",
    port: int = 8545,
    tls: EtcdTLS | None = None,
    timing: Timing = Timing(),
    peers: list[str] | None = None,
    etcd_credentials: tuple[str, str] | None = None,
) -> Service:
    """Open the node, connect it to etcd, and serve its JSON-RPC (all on background threads)."""
    node = open_replica(directory, key)
    client = EtcdClient(etcd, tls, etcd_credentials)
    engine = Engine(node, client, key, timing, peers)
    try:
        server = ChainServer(node, host, port)
    except OSError:
        node.close()
        client.close()
        raise
    server.rpc.methods.table.update(consensus_methods(node, engine))
    engine.start()
    server.start()
    return Service(node, engine, server)


def consensus_methods(node: Replica, engine: Engine) -> dict[str, Any]:
    """The consortium's JSON-RPC additions: a block's seals, the validators at the head, the consensus status."""

    def seals(params: list[Any]) -> list[str]:
        (raw,) = arity(params, 1)
        return [d(s) for s in node.seals_of(hash32(raw, "blockHash"))]

    def validators(params: list[Any]) -> list[str]:
        arity(params, 0)
        return [addr(v) for v in sorted(validators_at(node, node.head))]

    def consensus(params: list[Any]) -> dict[str, Any]:
        arity(params, 0)
        head = node.head
        current = validators_at(node, node.head)
        parent_set = validators_at(node, node.header_by_number(head.block_number - 1)) if head.block_number else current
        view = engine.mirror.view
        return {
            "height": head.block_number,
            "head": d(head.hash),
            "final": True,
            "headSeals": len(node.sealers_of(head.hash) & parent_set),
            "quorum": quorum(len(parent_set)),
            "validators": [addr(v) for v in sorted(current)],
            "leader": None if view.leader is None else addr(view.leader),
            "etcd": {"following": engine.mirror.connected, "members": engine.etcd_health},
            "halted": engine.halted,
            "stalled": engine.stalled,
            "pending": len(node.pool),
            "evidence": [json.loads(e.to_bytes()) for e in read_evidence(view, node.chain_id)],
        }

    # custos_validators stays the single node's answer (the set genesis commits to).
    return {
        "custos_getBlockSeals": seals,
        # The single node's method answers a list here: the audit trust root counts the quorum.
        "custos_getBlockSeal": seals,
        "custos_currentValidators": validators,
        "custos_consensus": consensus,
    }

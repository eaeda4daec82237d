"""The consortium bundle: a genesis every organisation derives for itself from the consortium file.

`derive_genesis(consortium)` is a pure function of the consortium file (organisations with
their addresses and roles, chain id, governance settings, `genesisTimestamp`): it deploys
the six contracts on a throw-away chain from a deployer key that is itself derived from the
file (public, so it protects nothing and is given no power), records every storage slot the
constructors wrote, and returns a genesis spec whose allocation already holds the deployed
contracts. Block 0 of the real chain therefore has the contracts, the membership contract is
named from the start, there is no bootstrap account, and the validators are the organisations
with the VALIDATOR role. Two organisations with the same file get the same genesis hash; a
bundle whose genesis differs from the one derived locally is refused.

The bundle directory holds no secret:
    consortium.json   the consortium file as given (addresses and roles only)
    genesis.json      the derived genesis spec (ledger.chain.genesis format)
    deployment.json   chain id and contract addresses
    etcd.json         the etcd cluster layout: one member per organisation (name, peer and client URLs)
    GENESIS           the genesis block hash, hex
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eth.vm.state
from eth_account import Account
from eth_keys import keys
from eth_utils import keccak, to_canonical_address, to_checksum_address

from ledger.chain.genesis import MEMBER_FUNDING, GenesisError, GenesisSpec, build_genesis, development_spec
from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.node import Node
from ledger.chain.setup import bootstrap_contracts, deploy_config, load_consortium
from ledger.chain.store import LMDBStore
from ledger.deployment import create_address

DEPLOYER_DOMAIN = b"custos-genesis-deployer-v1"


class BundleError(Exception):
    """A consortium file cannot make a bundle, or a bundle does not match its consortium file."""


@dataclass(frozen=True)
class Bundle:
    """What a consortium file derives to."""

    spec: GenesisSpec
    genesis_hash: bytes
    deployment: dict[str, Any]
    etcd: dict[str, Any]


def addresses_of(consortium: dict[str, Any]) -> dict[str, str]:
    """Each organisation's checksummed address; raises BundleError if one is missing."""
    out: dict[str, str] = {}
    for org in consortium["organisations"]:
        if not org.get("address"):
            raise BundleError(
                f"organisation {org['name']} has no address: each organisation runs `custos chain keygen` "
                "on its own machine and sends only its address"
            )
        try:
            out[org["name"]] = to_checksum_address(org["address"])
        except ValueError:
            raise BundleError(f"organisation {org['name']}: {org['address']!r} is not an address") from None
    if len({a.lower() for a in out.values()}) != len(out):
        raise BundleError("two organisations share an address")
    return out


def canonical_bytes(consortium: dict[str, Any]) -> bytes:
    """The consortium file as canonical JSON (sorted keys, no spaces): what the deployer key is derived from."""
    return json.dumps(consortium, sort_keys=True, separators=(",", ":")).encode()


@contextmanager
def _recording_storage() -> Iterator[set[tuple[bytes, int]]]:
    """Record every (address, slot) any EVM state writes while inside (genesis derivation only)."""
    written: set[tuple[bytes, int]] = set()
    original = eth.vm.state.BaseState.set_storage

    def recording(self: Any, address: Any, slot: int, value: int) -> None:
        written.add((bytes(address), slot))
        original(self, address, slot, value)

    eth.vm.state.BaseState.set_storage = recording  # type: ignore[method-assign]  # recording the storage genesis writes, restored below
    try:
        yield written
    finally:
        eth.vm.state.BaseState.set_storage = original  # type: ignore[method-assign]  # restoring py-evm's own method


def derive_genesis(consortium: dict[str, Any]) -> Bundle:
    """The genesis, its hash and the contract addresses for `consortium` (deterministic)."""
    addresses = addresses_of(consortium)
    orgs = consortium["organisations"]
    chain_id = int(consortium["chainId"])
    timestamp = int(consortium.get("genesisTimestamp", 0))
    deployer = Account.from_key(keccak(DEPLOYER_DOMAIN + canonical_bytes(consortium)))
    members: list[bytes] = [to_canonical_address(a) for a in addresses.values()]
    validators = tuple(to_canonical_address(addresses[o["name"]]) for o in orgs if "VALIDATOR" in o["roles"])
    scratch_spec = development_spec(
        validators=[to_canonical_address(deployer.address)],
        members=members,
        bootstrap=to_canonical_address(deployer.address),
        chain_id=chain_id,
    )
    with tempfile.TemporaryDirectory(prefix="custos-genesis-") as tmp, _recording_storage() as written:
        node = Node.create(Path(tmp), scratch_spec, keys.PrivateKey(deployer.key))
        try:
            deployment = json.loads(bootstrap_contracts(node, deployer, deploy_config(consortium, addresses)).to_json())
            alloc = _contract_accounts(node, deployment, written)
        finally:
            node.close()
    for member in members:
        alloc[member] = GenesisAccount(balance=MEMBER_FUNDING)
    spec = GenesisSpec(
        chain_id=chain_id,
        validators=validators,
        alloc=alloc,
        bootstrap=None,
        membership=to_canonical_address(deployment["contracts"]["Consortium"]),
        timestamp=timestamp,
    )
    deployment["blockNumber"] = 0
    genesis_hash = genesis_hash_of(spec)
    # The auditors' trust root (ledger.audit.trustroot): the genesis and its validators, pinned.
    # `members`: who genesis admits. No MemberAdded event records them (the state is allocated, not
    # deployed on this chain), so readers of the event index (the gateway's membership filter) need them here.
    deployment["genesis"] = {
        "hash": "0x" + genesis_hash.hex(),
        "validators": [to_checksum_address(v) for v in validators],
        "members": {address: name for name, address in addresses.items()},
    }
    return Bundle(spec, genesis_hash, deployment, etcd_layout(consortium))


def _contract_accounts(node: Node, deployment: dict[str, Any], written: set[tuple[bytes, int]]) -> dict[bytes, Any]:
    state = node.chain.get_vm(node.head).state
    contracts = {to_canonical_address(a) for a in deployment["contracts"].values()}
    # JobLedger's constructor creates PrivacyBudget (its first creation): its account belongs in block 0 too.
    contracts.add(to_canonical_address(create_address(deployment["contracts"]["JobLedger"], 1)))
    alloc: dict[bytes, Any] = {}
    for address in sorted(contracts):
        storage = {slot: state.get_storage(address, slot) for (owner, slot) in sorted(written) if owner == address}
        alloc[address] = GenesisAccount(
            balance=state.get_balance(address),
            code=state.get_code(address),
            storage={k: v for k, v in storage.items() if v},
            nonce=state.get_nonce(address),
        )
    return alloc


def genesis_hash_of(spec: GenesisSpec) -> bytes:
    """The hash of block 0 that `spec` produces (built in a scratch store)."""
    with tempfile.TemporaryDirectory(prefix="custos-genesis-hash-") as tmp:
        store = LMDBStore(Path(tmp))
        try:
            chain = build_genesis(store, spec)
            return bytes(chain.get_canonical_head().hash)
        finally:
            store.close()


def etcd_layout(consortium: dict[str, Any]) -> dict[str, Any]:
    """The etcd cluster: one member per organisation that names an `etcd` peer URL (addresses only)."""
    members = []
    for org in consortium["organisations"]:
        etcd = org.get("etcd")
        if etcd:
            members.append({"name": org["name"], "peerURL": etcd["peer"], "clientURL": etcd["client"]})
    initial = ",".join(f"{m['name']}={m['peerURL']}" for m in members)
    return {"members": members, "initialCluster": initial, "clusterToken": f"custos-{consortium['chainId']}"}


def write_bundle(consortium_path: Path, out: Path) -> Bundle:
    """Derive the bundle from a consortium file and write it to `out`.

    If `out` already holds a bundle (one received from another organisation), it is
    checked instead: a different genesis hash is refused and nothing is written.
    """
    consortium = load_consortium(Path(consortium_path))
    if "chainId" not in consortium:
        raise GenesisError("the consortium file must fix its chainId")
    bundle = derive_genesis(consortium)
    out = Path(out)
    if (out / "GENESIS").exists():
        check_bundle(out, bundle)
        return bundle
    out.mkdir(parents=True, exist_ok=True)
    (out / "consortium.json").write_text(json.dumps(consortium, indent=1, sort_keys=True))
    (out / "genesis.json").write_text(bundle.spec.to_json())
    (out / "deployment.json").write_text(json.dumps(bundle.deployment, indent=1, sort_keys=True))
    (out / "etcd.json").write_text(json.dumps(bundle.etcd, indent=1, sort_keys=True))
    (out / "GENESIS").write_text("0x" + bundle.genesis_hash.hex() + "\n")
    return bundle


def check_bundle(directory: Path, derived: Bundle | None = None) -> Bundle:
    """Re-derive the genesis from the bundle's consortium.json and compare every file; raise BundleError."""
    directory = Path(directory)
    try:
        consortium = json.loads((directory / "consortium.json").read_text())
        claimed_hash = (directory / "GENESIS").read_text().strip()
        claimed_spec = GenesisSpec.from_json((directory / "genesis.json").read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{directory} is not a consortium bundle: {exc}") from None
    derived = derived or derive_genesis(consortium)
    mine = "0x" + derived.genesis_hash.hex()
    if claimed_hash != mine or genesis_hash_of(claimed_spec) != derived.genesis_hash:
        raise BundleError(
            f"refusing the bundle in {directory}: its genesis is {claimed_hash}, "
            f"but the consortium file derives {mine} on this machine"
        )
    return derived

"""`custos chain init`: keys, genesis and contracts for a consortium in one directory.

Layout of a chain directory:
    chain.lmdb/        the store
    keystore/          encrypted v3 key files: `deployer` (bootstrap) and one per organisation
    consortium.json    organisations, roles, validators (as given, plus addresses)
    deployment.json    chain id and contract addresses (ledger.deploy's format)

The `deployer` key only bootstraps: it deploys the six contracts (ledger.deploy), then the
node's admission is handed to the Consortium contract and the deployer, not a member,
can no longer transact.

The development consortium (no file given) is three organisations with the documented dev
password: `bank` (requester, provider, validator), `hospital` (provider, compute) and
`bureau` (compute, auditor).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_keys.datatypes import PrivateKey

from ledger.chain.chainspec import DEFAULT_CHAIN_ID
from ledger.chain.errors import HistoryError
from ledger.chain.genesis import GenesisError, development_spec
from ledger.chain.node import Node
from ledger.deploy import ROLE_BITS, ConsortiumConfig, MemberSpec, deploy_consortium
from ledger.deployment import Deployment
from ledger.errors import DeploymentError
from ledger.keystore import DEV_PASSWORD, DEV_SCRYPT_N, STRONG_SCRYPT_N, Keystore
from ledger.units import parse_amount

# Settlement tokens each organisation starts with (a consortium file may say otherwise).
DEFAULT_ALLOCATION = parse_amount(1_000_000)
DEV_CONSORTIUM: dict[str, Any] = {
    "chainId": DEFAULT_CHAIN_ID,
    "organisations": [
        {"name": "bank", "roles": ["REQUESTER", "PROVIDER", "VALIDATOR"]},
        {"name": "hospital", "roles": ["PROVIDER", "COMPUTE"]},
        {"name": "bureau", "roles": ["COMPUTE", "AUDITOR"]},
    ],
}
DEPLOYER = "deployer"


@dataclass(frozen=True)
class ChainInit:
    """What `init_chain` created."""

    path: Path
    chain_id: int
    validators: list[str]
    members: dict[str, str]
    deployment: dict[str, Any]


def load_consortium(path: Path | None) -> dict[str, Any]:
    """Read and check a consortium file, or return the development consortium."""
    if path is None:
        return DEV_CONSORTIUM
    try:
        raw = json.loads(Path(path).read_text())
        orgs = raw["organisations"]
        names = [o["name"] for o in orgs]
        for org in orgs:
            unknown = set(org["roles"]) - set(ROLE_BITS)
            if unknown:
                raise GenesisError(f"organisation {org['name']}: unknown roles {sorted(unknown)}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GenesisError(f"cannot read consortium file {path}: {exc}") from None
    if len(set(names)) != len(names) or DEPLOYER in names:
        raise GenesisError("organisation names must be unique and not 'deployer'")
    if not any("VALIDATOR" in o["roles"] for o in orgs):
        raise GenesisError("the consortium needs at least one organisation with the VALIDATOR role")
    return raw


def init_chain(path: Path, consortium: dict[str, Any], password: str | None = None) -> ChainInit:
    """Create keys and genesis, deploy the contracts if `ledger.deploy` exists, write deployment.json."""
    path = Path(path)
    if (path / "chain.lmdb").exists():
        raise HistoryError(f"{path} already holds a chain")
    dev = password is None
    scrypt_n = DEV_SCRYPT_N if dev else STRONG_SCRYPT_N
    password = DEV_PASSWORD if dev else password
    keystore = Keystore(path / "keystore")
    deployer = keystore.create(DEPLOYER, password, scrypt_n)
    accounts = {o["name"]: keystore.create(o["name"], password, scrypt_n) for o in consortium["organisations"]}
    validators = [accounts[o["name"]] for o in consortium["organisations"] if "VALIDATOR" in o["roles"]]
    chain_id = int(consortium.get("chainId", DEFAULT_CHAIN_ID))
    spec = development_spec(
        validators=[bytes.fromhex(v.address[2:]) for v in validators],
        members=[bytes.fromhex(a.address[2:]) for a in accounts.values()],
        bootstrap=bytes.fromhex(deployer.address[2:]),
        chain_id=chain_id,
    )
    node = Node.create(path, spec, keys.PrivateKey(validators[0].key))
    try:
        deployment = _deploy(node, deployer, consortium, accounts)
        # The auditor's trust root: the genesis and its validators, pinned where auditors read them.
        deployment["genesis"] = {
            "hash": "0x" + node.header_by_number(0).hash.hex(),
            "validators": [v.address for v in validators],
        }
    finally:
        node.close()
    members = {name: a.address for name, a in accounts.items()}
    (path / "consortium.json").write_text(
        json.dumps({**consortium, "addresses": members, "deployer": deployer.address}, indent=1)
    )
    (path / "deployment.json").write_text(json.dumps(deployment, indent=1, sort_keys=True))
    return ChainInit(path, chain_id, [v.address for v in validators], members, deployment)


def bootstrap_contracts(node: Node, deployer: LocalAccount, config: ConsortiumConfig) -> Deployment:
    """Deploy the six contracts from the bootstrap account in-process, then close bootstrapping."""
    from web3 import Web3

    from ledger.chain.provider import NodeProvider

    deployment = deploy_consortium(Web3(NodeProvider(node)), deployer, config)
    node.permission.close_bootstrap(deployment.consortium)
    return deployment


def deploy_config(consortium: dict[str, Any], addresses: dict[str, str]) -> ConsortiumConfig:
    """ledger.deploy's config for a consortium file, given each organisation's address."""
    members = tuple(
        MemberSpec(
            addresses[o["name"]],
            sum(ROLE_BITS[r] for r in o["roles"]),
            o["name"],
            int(o.get("allocation", DEFAULT_ALLOCATION)),
        )
        for o in consortium["organisations"]
    )
    threshold = int(consortium.get("threshold", len(members) // 2 + 1))
    try:
        timings = {
            key: int(consortium[name])
            for key, name in (
                ("challenge_window", "challengeWindow"),
                ("fee_bps", "feeBps"),
                ("proposal_ttl", "proposalTtl"),
            )
            if name in consortium
        }
        return ConsortiumConfig(members=members, threshold=threshold, **timings)
    except DeploymentError as exc:
        raise GenesisError(str(exc)) from None


def external_config(path: Path) -> ConsortiumConfig:
    """The deploy config of a consortium file whose organisations carry addresses.

    A chain directory's consortium.json qualifies (its "addresses" map), so the same
    consortium can be deployed to anvil or Besu with `custos deploy`.
    """
    consortium = load_consortium(path)
    known = consortium.get("addresses", {})
    try:
        addresses = {o["name"]: o.get("address") or known[o["name"]] for o in consortium["organisations"]}
    except KeyError as exc:
        raise GenesisError(f"organisation {exc} in {path} has no address") from None
    return deploy_config(consortium, addresses)


def _deploy(node: Node, deployer: LocalAccount, consortium: dict[str, Any], accounts: dict[str, Any]) -> dict[str, Any]:
    config = deploy_config(consortium, {name: a.address for name, a in accounts.items()})
    return json.loads(bootstrap_contracts(node, deployer, config).to_json())


def validator_key(path: Path, password: str | None) -> PrivateKey:
    """Unlock the first validator key named in the chain directory's consortium.json."""
    consortium = json.loads((Path(path) / "consortium.json").read_text())
    name = next(o["name"] for o in consortium["organisations"] if "VALIDATOR" in o["roles"])
    account = Keystore(Path(path) / "keystore").unlock(name, password or DEV_PASSWORD)
    return keys.PrivateKey(account.key)

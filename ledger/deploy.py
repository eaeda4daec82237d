"""Deploy the six consortium contracts with no admin key left behind.

The six creations go out from one deployer account at consecutive nonces; each constructor
receives the addresses of the contracts it needs, predicted from the deployer's nonce (the
token needs Settlement, Settlement needs JobLedger, both deployed after it; AuditAnchor needs
JobLedger, to ask who takes part in a job). Nothing is wired by a setter afterwards, so the
deployer holds no power once the last creation is mined. Works over any EVM JSON-RPC backend
through web3 and a local signing account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from ledger.artifacts import load
from ledger.deployment import CONTRACTS, Deployment, create_address
from ledger.errors import DeploymentError
from ledger.units import parse_amount

# CONTRACTS is the deployment order = nonce order; the constructors below rely on it.
ROLE_BITS = {"REQUESTER": 1, "PROVIDER": 2, "COMPUTE": 4, "AUDITOR": 8, "VALIDATOR": 16}
# Bounds the contracts enforce (Settlement.MAX_FEE_BPS, Consortium.MIN/MAX_PROPOSAL_TTL,
# JobLedger.MAX_CHALLENGE_WINDOW); a bootstrap may set a challenge window below governance's
# 10-minute floor, for development chains whose clock cannot be moved.
MAX_FEE_BPS = 3_000
MIN_PROPOSAL_TTL = 3_600
MAX_PROPOSAL_TTL = 30 * 24 * 3_600
MAX_CHALLENGE_WINDOW = 30 * 24 * 3_600


@dataclass(frozen=True)
class MemberSpec:
    """A bootstrap member: its address, role bits, display name and token allocation."""

    address: str
    roles: int
    name: str
    allocation: int = 0


@dataclass(frozen=True)
class ConsortiumConfig:
    """Everything the bootstrap fixes: members, approval threshold, timings, fee."""

    members: tuple[MemberSpec, ...]
    threshold: int
    proposal_ttl: int = 3 * 24 * 3600
    challenge_window: int = 3600
    fee_bps: int = 500

    def __post_init__(self) -> None:
        if not self.members:
            raise DeploymentError("the consortium needs at least one bootstrap member")
        if not 1 <= self.threshold <= len(self.members):
            raise DeploymentError(f"threshold {self.threshold} must be between 1 and {len(self.members)}")
        # The contracts' own ranges (docs/protocol.md, "Governance settings"), checked before any gas is spent.
        if not 0 <= self.fee_bps <= MAX_FEE_BPS:
            raise DeploymentError(f"fee {self.fee_bps} bps must be between 0 and {MAX_FEE_BPS}")
        if not MIN_PROPOSAL_TTL <= self.proposal_ttl <= MAX_PROPOSAL_TTL:
            raise DeploymentError(
                f"proposal TTL {self.proposal_ttl} s must be between {MIN_PROPOSAL_TTL} and {MAX_PROPOSAL_TTL}"
            )
        if not 0 <= self.challenge_window <= MAX_CHALLENGE_WINDOW:
            raise DeploymentError(
                f"challenge window {self.challenge_window} s must be between 0 and {MAX_CHALLENGE_WINDOW}"
            )
        for m in self.members:
            if not 0 < m.roles < 32:
                raise DeploymentError(f"member {m.name}: role bits {m.roles} outside 1..31")


def config_for_members(
    members: list[tuple[str, int]] | list[tuple[str, int, str]], allocation: int = parse_amount(1_000_000)
) -> ConsortiumConfig:
    """A development config: the given (address, roles[, name]) members, majority threshold."""
    specs = tuple(
        MemberSpec(str(m[0]), int(m[1]), str(m[2]) if len(m) > 2 else f"member-{i}", allocation)
        for i, m in enumerate(members)
    )
    return ConsortiumConfig(members=specs, threshold=len(specs) // 2 + 1)


def deploy_consortium(w3: Web3, deployer: LocalAccount, config: ConsortiumConfig) -> Deployment:
    """Deploy and wire Consortium, CustosToken, DataRegistry, Settlement, JobLedger, AuditAnchor."""
    nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    at = {name: create_address(deployer.address, nonce + i) for i, name in enumerate(CONTRACTS)}
    members = [to_checksum_address(m.address) for m in config.members]
    arguments: dict[str, list[Any]] = {
        "Consortium": [
            members,
            [m.roles for m in config.members],
            [m.name for m in config.members],
            config.threshold,
            config.proposal_ttl,
        ],
        "CustosToken": [at["Consortium"], at["Settlement"], members, [m.allocation for m in config.members]],
        "DataRegistry": [at["Consortium"]],
        "Settlement": [at["Consortium"], at["CustosToken"], at["JobLedger"], config.fee_bps],
        "JobLedger": [at["Consortium"], at["DataRegistry"], at["Settlement"], config.challenge_window],
        "AuditAnchor": [at["Consortium"], at["JobLedger"]],
    }
    chain_id = w3.eth.chain_id
    block = 0
    for i, name in enumerate(CONTRACTS):
        block = _create(w3, deployer, name, arguments[name], nonce + i, chain_id, at[name])
    deployment = Deployment(chain_id, at, block_number=block)
    _check_wiring(w3, deployment)
    return deployment


def _create(
    w3: Web3, deployer: LocalAccount, name: str, args: list[Any], nonce: int, chain_id: int, expected: str
) -> int:
    artifact = load(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    tx: dict[str, Any] = {
        "from": deployer.address,
        "data": data,
        "nonce": nonce,
        "chainId": chain_id,
        "value": 0,
        "gasPrice": w3.eth.gas_price,
    }
    try:
        tx["gas"] = w3.eth.estimate_gas(tx) * 6 // 5  # type: ignore[arg-type]  # web3's TxParams TypedDict does not accept a plain dict
        tx_hash = w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    except Exception as exc:  # web3 raises many unrelated types; the caller needs one
        raise DeploymentError(f"deploying {name} failed: {exc}") from exc
    created = receipt["contractAddress"]
    if receipt["status"] != 1 or created is None or to_checksum_address(created) != expected:
        raise DeploymentError(
            f"deploying {name}: status {receipt['status']}, address {receipt['contractAddress']} (expected {expected})"
        )
    return int(receipt["blockNumber"])


def _check_wiring(w3: Web3, d: Deployment) -> None:
    def contract(name: str) -> Any:
        return w3.eth.contract(address=d.address(name), abi=load(name).abi)

    checks = {
        "JobLedger.wiring": (tuple(contract("JobLedger").functions.wiring().call()), (d.registry, d.settlement)),
        "Settlement.token": (contract("Settlement").functions.token().call(), d.token),
        "Settlement.jobLedger": (contract("Settlement").functions.jobLedger().call(), d.job_ledger),
        "JobLedger.privacyBudget": (contract("JobLedger").functions.privacyBudget().call(), d.privacy_budget),
        "CustosToken.settlement": (contract("CustosToken").functions.settlement().call(), d.settlement),
        "AuditAnchor.jobLedger": (contract("AuditAnchor").functions.jobLedger().call(), d.job_ledger),
    }
    for what, (got, want) in checks.items():
        if got != want:
            raise DeploymentError(f"{what} is {got}, expected {want}")

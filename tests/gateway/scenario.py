"""A consortium on a real anvil node with one finished job, for the gateway's ledger-backed tests.

Built with plain web3 calls from the test side (the gateway itself never builds transactions):
deploy, two sources, open (approve + openJob), consent, commit (a real utility table's hash, the
weights the rule gives from it, a real transcript root), three EIP-712 attestations, challenge
window passed by time warp, finalise, one withdrawal. `result_bundle` is what a participant's
runner keeps of that job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from compute.contribution import UtilityTable
from compute.contribution.rule import derive_report
from ledger.artifacts import load
from ledger.deploy import ConsortiumConfig, MemberSpec, deploy_consortium
from ledger.deployment import Deployment
from ledger.merkle import MerkleTree, leaf_hash
from ledger.protocol import Attestation, AttestationDomain, JobKind
from ledger.units import parse_amount

REQUESTER, PROVIDER, COMPUTE, AUDITOR = 1, 2, 4, 8
ALLOCATION = parse_amount(10_000)
WINDOW = 60
# The finished job's measured utilities (exact in binary): Shapley values 0.375 and 0.125, so 3 : 1.
UTILITY_TABLE = UtilityTable(
    ("card", "hospital"),
    "validation-auc",
    {frozenset(): 0.5, frozenset({0}): 0.875, frozenset({1}): 0.625, frozenset({0, 1}): 1.0},
)
REPORT = derive_report(UTILITY_TABLE, ["card", "hospital"])  # the one weight rule
WEIGHTS = list(REPORT.weights)  # [750000, 250000]
TRANSCRIPT_LEAVES = ["0x" + keccak(text=f"protocol message {i}").hex() for i in range(4)]
TRANSCRIPT_ROOT = MerkleTree.from_leaves([leaf_hash(bytes.fromhex(m[2:])) for m in TRANSCRIPT_LEAVES]).root
# A valid POST /sources body (the bank's gateway registers it as its operator).
SOURCE_SPEC = {
    "schema_hash": "0x" + "aa" * 32,
    "commitment": "0x" + "bb" * 32,
    "row_count": 1200,
    "metadata_uri": "s3://bank/loans",
    "price_per_use": 7,
    "allowed_kinds": 0b11,
}


@dataclass(frozen=True)
class Consortium:
    """The deployed consortium, its members' accounts and the finished job's id."""

    w3: Web3
    deployment: Deployment
    people: dict[str, LocalAccount]
    job_id: int


def _send(w3: Web3, account: LocalAccount, call: Any) -> Any:
    tx = call.build_transaction(
        {
            "from": account.address,
            "chainId": w3.eth.chain_id,
            "gasPrice": w3.eth.gas_price,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=60
    )
    assert receipt["status"] == 1
    return receipt


def deploy(w3: Web3, deployer: LocalAccount, people: dict[str, LocalAccount]) -> Deployment:
    """Bank (requester + provider: the gateway operator), CardNet, Hospital (provider + compute), Arbiter, Regulator."""
    roles = {
        "bank": REQUESTER | PROVIDER,
        "card": PROVIDER,
        "hospital": PROVIDER | COMPUTE,
        "arbiter": COMPUTE,
        "regulator": AUDITOR,
    }
    names = {"bank": "Bank", "card": "CardNet", "hospital": "Hospital", "arbiter": "Arbiter", "regulator": "Regulator"}
    members = tuple(MemberSpec(people[k].address, roles[k], names[k], ALLOCATION) for k in roles)
    return deploy_consortium(w3, deployer, ConsortiumConfig(members=members, threshold=3, challenge_window=WINDOW))


def finished_job(w3: Web3, d: Deployment, p: dict[str, LocalAccount]) -> int:
    """Run one FedAvg job over two sources to Finalized; the card provider withdraws its credit."""

    def contract(name: str) -> Any:
        return w3.eth.contract(address=d.addresses[name], abi=load(name).abi)

    registry, ledger, token, settlement = (
        contract(n) for n in ("DataRegistry", "JobLedger", "CustosToken", "Settlement")
    )
    bank, card, hospital, arbiter = p["bank"], p["card"], p["hospital"], p["arbiter"]
    for owner, price, auto in ((card, parse_amount(1), 0), (hospital, parse_amount(2), JobKind.FEDAVG.bit)):
        spec = (
            keccak(text="schema"),
            keccak(text=f"rows of {owner.address}"),
            500,
            "ipfs://src",
            price,
            JobKind.FEDAVG.bit,
            True,
            auto,
        )
        _send(w3, owner, registry.functions.registerSource(spec))
    _send(w3, hospital, registry.functions.setAutoConsent(1, bank.address, True))
    budget = parse_amount(1000) + 7
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    _send(w3, bank, token.functions.approve(d.addresses["Settlement"], budget))
    _send(
        w3,
        bank,
        ledger.functions.openJob(
            JobKind.FEDAVG, [0, 1], keccak(text="params"), [arbiter.address, hospital.address], budget, budget, deadline
        ),
    )
    job_id = ledger.functions.jobCount().call() - 1
    _send(w3, card, ledger.functions.consent(job_id, 0))
    _send(
        w3,
        arbiter,
        ledger.functions.commitResult(job_id, keccak(text="result"), TRANSCRIPT_ROOT, WEIGHTS, UTILITY_TABLE.digest()),
    )
    job = ledger.functions.job(job_id).call()
    attestation = Attestation(job_id, job[9], job[10], job[11], job[12])
    for signer in (card, hospital, arbiter):
        signature = attestation.sign(bytes(signer.key), AttestationDomain(d.chain_id, d.job_ledger))
        _send(w3, bank, ledger.functions.attest(job_id, signer.address, signature))
    w3.provider.make_request("evm_increaseTime", [WINDOW + 1])  # type: ignore[arg-type]  # evm_* methods are not in web3's RPC enum
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # as above
    _send(w3, bank, ledger.functions.finalize(job_id))
    _send(w3, card, settlement.functions.withdraw())
    return job_id


def result_bundle(job_id: int) -> dict[str, Any]:
    """The finished job's result bundle as a participant's runner keeps it (`compute.jobs.party_process`):
    hashes, the transcript's leaf list and the contribution section with its utility table."""
    return {
        "job_id": job_id,
        "protocol": "fedavg",
        "result_hash": "0x" + keccak(text="result").hex(),
        "result": None,
        "result_hashed": False,
        "transcript_root": "0x" + TRANSCRIPT_ROOT.hex(),
        "transcript_leaves": TRANSCRIPT_LEAVES,
        "transcript_entries": len(TRANSCRIPT_LEAVES),
        "weights": WEIGHTS,
        "utility_table_hash": "0x" + REPORT.utility_table_hash.hex(),
        "contribution_hash": "0x" + REPORT.contribution_hash.hex(),
        "contribution": REPORT.to_json(),
        "metadata": {},
    }


def open_job(w3: Web3, d: Deployment, p: dict[str, LocalAccount]) -> int:
    """The bank opens another FedAvg job over sources 0 and 1 (the hospital consents by policy): Open."""
    ledger = w3.eth.contract(address=d.addresses["JobLedger"], abi=load("JobLedger").abi)
    token = w3.eth.contract(address=d.addresses["CustosToken"], abi=load("CustosToken").abi)
    budget = parse_amount(50)
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    _send(w3, p["bank"], token.functions.approve(d.addresses["Settlement"], budget))
    parties = [p["arbiter"].address, p["hospital"].address]
    _send(
        w3,
        p["bank"],
        ledger.functions.openJob(JobKind.FEDAVG, [0, 1], keccak(text="params 2"), parties, budget, budget, deadline),
    )
    return ledger.functions.jobCount().call() - 1


def consent(w3: Web3, d: Deployment, p: dict[str, LocalAccount], job_id: int) -> None:
    """The card network consents explicitly to the job's use of source 0: the job becomes Ready."""
    ledger = w3.eth.contract(address=d.addresses["JobLedger"], abi=load("JobLedger").abi)
    _send(w3, p["card"], ledger.functions.consent(job_id, 0))

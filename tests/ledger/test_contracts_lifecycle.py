"""One whole job on a real EVM backend: deploy, register, open with permit, consent, commit,
attest (eth-account typed-data signatures), replay rejected, finalise, withdraw, exact sums."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError

from ledger.artifacts import load
from ledger.client.revert import decode_revert
from ledger.deploy import ConsortiumConfig, MemberSpec, deploy_consortium
from ledger.deployment import Deployment
from ledger.protocol import Attestation, AttestationDomain, JobKind
from ledger.units import parse_amount
from tests.backends import Chain
from tests.ledger.block_clock import held_block_clock

REQUESTER, PROVIDER, COMPUTE, AUDITOR = 1, 2, 4, 8
ALLOCATION = parse_amount(10_000)
WINDOW = 3  # seconds: short enough for the embedded node's clock to pass it (tests/ledger/block_clock.py)
FEE_BPS = 1000
PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def send(w3: Web3, account: LocalAccount, call: Any) -> Any:
    """Sign and send a contract call from `account`; return its successful receipt."""
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


def reverted_with(w3: Web3, account: LocalAccount, call: Any) -> str:
    """The custom error's name that the call reverts with (it must revert)."""
    with pytest.raises(ContractCustomError) as raised:
        call.estimate_gas({"from": account.address})
    data = raised.value.data
    return decode_revert(bytes.fromhex(data[2:] if isinstance(data, str) else data.hex())).name


@pytest.fixture(scope="module")
def consortium(chain: Chain) -> tuple[Chain, Deployment, dict[str, LocalAccount]]:
    """The four-member consortium deployed by a fifth, rights-less account."""
    deployer, bank, card, hospital, arbiter = chain.accounts[:5]
    people = {"bank": bank, "card": card, "hospital": hospital, "arbiter": arbiter}
    config = ConsortiumConfig(
        members=(
            MemberSpec(bank.address, REQUESTER | AUDITOR, "Bank", ALLOCATION),
            MemberSpec(card.address, PROVIDER, "CardNet", ALLOCATION),
            MemberSpec(hospital.address, PROVIDER | COMPUTE, "Hospital", ALLOCATION),
            MemberSpec(arbiter.address, COMPUTE, "Arbiter", ALLOCATION),
        ),
        threshold=2,
        challenge_window=WINDOW,
        fee_bps=FEE_BPS,
    )
    return chain, deploy_consortium(chain.w3, deployer, config), people


def contract(w3: Web3, deployment: Deployment, name: str) -> Any:
    """A web3 contract object for one of the deployed contracts."""
    return w3.eth.contract(address=deployment.addresses[name], abi=load(name).abi)


def test_deployment_round_trips_through_json(consortium: tuple[Chain, Deployment, dict[str, LocalAccount]]) -> None:
    chain, deployment, _ = consortium
    assert Deployment.from_json(deployment.to_json()) == deployment
    assert deployment.chain_id == chain.w3.eth.chain_id
    members = contract(chain.w3, deployment, "Consortium").functions
    assert members.memberCount().call() == 4
    assert not members.isMember(chain.accounts[0].address).call()  # the deployer keeps nothing


def test_whole_job_lifecycle_pays_out_exactly(consortium: tuple[Chain, Deployment, dict[str, LocalAccount]]) -> None:
    chain, d, p = consortium
    w3 = chain.w3
    registry, ledger = contract(w3, d, "DataRegistry"), contract(w3, d, "JobLedger")
    token, settlement = contract(w3, d, "CustosToken"), contract(w3, d, "Settlement")
    bank, card, hospital, arbiter = p["bank"], p["card"], p["hospital"], p["arbiter"]

    # Two sources: CardNet's consents explicitly, the Hospital's automatically for the Bank.
    def spec(price: int, auto: int) -> tuple[Any, ...]:
        return (keccak(text="schema"), keccak(text="rows"), 500, "ipfs://src", price, JobKind.FEDAVG.bit, True, auto)

    send(w3, card, registry.functions.registerSource(spec(parse_amount(1), 0)))
    send(w3, hospital, registry.functions.registerSource(spec(parse_amount(2), JobKind.FEDAVG.bit)))
    send(w3, hospital, registry.functions.setAutoConsent(1, bank.address, True))

    # Open with an EIP-2612 permit: one transaction escrows the budget.
    budget = parse_amount(1000) + 7  # odd, so integer dust exists
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    permit = Account.sign_typed_data(
        bank.key,
        domain_data={
            "name": "Custos Settlement Token",
            "version": "1",
            "chainId": d.chain_id,
            "verifyingContract": d.token,
        },
        message_types=PERMIT_TYPES,
        message_data={
            "owner": bank.address,
            "spender": d.settlement,
            "value": budget,
            "nonce": token.functions.nonces(bank.address).call(),
            "deadline": deadline,
        },
    )
    send(
        w3,
        bank,
        ledger.functions.openJobWithPermit(
            JobKind.FEDAVG,
            [0, 1],
            keccak(text="params"),
            [arbiter.address, hospital.address],
            budget,
            budget,  # maxTotalPrice: the requester accepts prices up to its whole budget
            deadline,
            (deadline, permit.v, permit.r.to_bytes(32, "big"), permit.s.to_bytes(32, "big")),
        ),
    )
    job_id = ledger.functions.jobCount().call() - 1
    assert settlement.functions.escrowOf(job_id).call() == budget

    send(w3, card, ledger.functions.consent(job_id, 0))
    # The clock holds from the commit to the refused finalize: however slow the machine, the window is open.
    with held_block_clock(chain) as clock:
        weights, utility = [3, 1], keccak(text="utility table")
        send(
            w3,
            arbiter,
            ledger.functions.commitResult(job_id, keccak(text="result"), keccak(text="transcript"), weights, utility),
        )

        job = ledger.functions.job(job_id).call()
        attestation = Attestation(job_id, job[9], job[10], job[11], job[12])
        domain = AttestationDomain(d.chain_id, d.job_ledger)
        assert (
            attestation.digest(domain) == ledger.functions.attestationDigest(job_id).call()
        )  # ledger.protocol = chain
        signatures = {}
        for signer in (card, hospital, arbiter):  # the distinct source owners and compute parties
            signatures[signer.address] = attestation.sign(bytes(signer.key), domain)
            assert attestation.signer(signatures[signer.address], domain) == signer.address
            send(w3, bank, ledger.functions.attest(job_id, signer.address, signatures[signer.address]))

        replay = ledger.functions.attest(job_id, card.address, signatures[card.address])
        assert reverted_with(w3, bank, replay) == "JobLedgerAlreadyAttested"
        assert w3.eth.get_block("latest")["timestamp"] == job[4] == clock.held  # three blocks later, the same second
        assert reverted_with(w3, bank, ledger.functions.finalize(job_id)) == "JobLedgerChallengeWindowOpen"

        clock.pass_beyond(job[4] + WINDOW)
        send(w3, bank, ledger.functions.finalize(job_id))
    assert ledger.functions.job(job_id).call()[2] == 4  # Finalized

    # Payout rule by hand: prices, 10% fee of the rest split by two, the remainder 3:1, dust to arbiter.
    pool = budget - parse_amount(3)
    fee = pool * FEE_BPS // 10_000
    rest = pool - fee
    expected = {
        card.address: parse_amount(1) + rest * 3 // 4,
        hospital.address: parse_amount(2) + rest * 1 // 4 + fee // 2,
        arbiter.address: fee // 2,
    }
    expected[arbiter.address] += budget - sum(expected.values())
    for account in (card, hospital, arbiter):
        assert settlement.functions.creditOf(account.address).call() == expected[account.address]
        before = token.functions.balanceOf(account.address).call()
        send(w3, account, settlement.functions.withdraw())
        assert token.functions.balanceOf(account.address).call() == before + expected[account.address]
    assert sum(expected.values()) == budget
    assert token.functions.balanceOf(d.settlement).call() == 0
    assert token.functions.totalSupply().call() == 4 * ALLOCATION

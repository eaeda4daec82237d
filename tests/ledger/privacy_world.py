"""A small consortium on the embedded chain for privacy-budget tests: a bank (requester), CardNet and
TaxData (providers, one source each allowing secure statistics and FedAvg), an arbiter (compute).
CardNet's source has 1 ε and allows only DP releases; TaxData's has 2 ε and allows exact ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_utils import keccak

from ledger.bindings import Contracts, JobLedger, SourceSpec
from ledger.client import TransactionSender
from ledger.deploy import ConsortiumConfig, MemberSpec, deploy_consortium
from ledger.deployment import Deployment
from ledger.protocol import Attestation, AttestationDomain, JobKind, kinds_mask
from ledger.units import parse_amount, parse_delta, parse_epsilon
from tests.backends import throwaway_accounts
from tests.ledger.chain.embedded_backends import embedded_inprocess

REQUESTER, PROVIDER, COMPUTE = 1, 2, 4
DELTA = parse_delta("1e-6")


@dataclass(frozen=True)
class World:
    """The deployment and each member's bindings: bank (requester), card and tax (providers), arbiter (compute)."""

    deployment: Deployment
    bank: Contracts
    card: Contracts
    tax: Contracts
    arbiter: Contracts
    sources: tuple[int, int]

    @property
    def domain(self) -> AttestationDomain:
        """The EIP-712 domain attestations are signed in."""
        return AttestationDomain(self.deployment.chain_id, self.deployment.job_ledger)

    def open_dp(self, epsilons: tuple[str, str], kind: JobKind = JobKind.FEDAVG) -> int:
        """The bank opens a DP job of `kind` on both sources, reserving `epsilons` (as typed) and DELTA."""
        self.bank.token.approve(self.deployment.settlement, parse_amount(1))
        return self.bank.jobs.open_job(
            kind,
            self.sources,
            keccak(text=f"{kind.name} params"),
            [self.arbiter.jobs.sender.address],
            parse_amount(1),
            int(time.time()) + 3600,
            epsilons=[parse_epsilon(e) for e in epsilons],
            delta=DELTA,
        ).job_id


def job_attestation(jobs: JobLedger, job_id: int, privacy: bytes) -> Attestation:
    """An attestation of the job's committed hashes, as read from the chain, with `privacy` as its privacy hash."""
    job = jobs.job(job_id)
    return Attestation(job_id, job.inputs_hash, job.result_hash, job.transcript_root, job.contribution_hash, privacy)


@contextmanager
def privacy_world() -> Iterator[World]:
    """Deploy, register both sources and set their budgets; the chain stops on exit."""
    accounts = throwaway_accounts()
    with embedded_inprocess(accounts) as w3:
        deployer, bank, card, tax, arbiter = accounts[:5]
        config = ConsortiumConfig(
            members=(
                MemberSpec(bank.address, REQUESTER, "Bank", parse_amount(1_000)),
                MemberSpec(card.address, PROVIDER, "CardNet"),
                MemberSpec(tax.address, PROVIDER, "TaxData"),
                MemberSpec(arbiter.address, COMPUTE, "Arbiter"),
            ),
            threshold=2,
            challenge_window=0,
        )
        deployment = deploy_consortium(w3, deployer, config)
        bank_c, card_c, tax_c, arbiter_c = (Contracts.at(TransactionSender(w3, a), deployment) for a in accounts[1:5])
        spec = SourceSpec(
            keccak(text="schema"),
            keccak(text="rows"),
            100,
            "ipfs://s",
            0,
            kinds_mask([JobKind.FEDAVG, JobKind.SECURE_STATS]),
        )
        sources = (card_c.registry.register_source(spec).source_id, tax_c.registry.register_source(spec).source_id)
        # CardNet allows only DP releases with 1 ε; TaxData allows exact ones too, with 2 ε.
        card_c.privacy.set_budget(sources[0], parse_epsilon("1"), 10 * DELTA, exact_allowed=False)
        tax_c.privacy.set_budget(sources[1], parse_epsilon("2"), 10 * DELTA, exact_allowed=True)
        # Block times are whole seconds: start the jobs a second later, so a window ending at the
        # first reservation holds the budget settings and nothing else.
        time.sleep(1 - time.time() % 1 + 0.05)
        yield World(deployment, bank_c, card_c, tax_c, arbiter_c, sources)

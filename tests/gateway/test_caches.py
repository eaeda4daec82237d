"""The membership cache and the per-job verification cache, against the real chain and index."""

from __future__ import annotations

from gateway.clock import Clock
from gateway.membership import CachedMembership, Member, Role

from .conftest import FakeClock, Gateway
from .scenario import consent, open_job


class _CountingChain:
    """Stands in for the Consortium contract: who is a member, and how often it was asked."""

    def __init__(self, members: set[str]) -> None:
        self.members, self.asked = members, 0

    def member(self, address: str) -> Member | None:
        self.asked += 1
        return Member(address, Role.AUDITOR, "m") if address in self.members else None


def _addresses(n: int, prefix: str) -> list[str]:
    return [f"0x{prefix}{i:038x}" for i in range(n)]


def test_a_flood_of_strangers_never_evicts_a_hot_member() -> None:
    clock: Clock = FakeClock()
    member = "0x" + "ab" * 20
    chain = _CountingChain({member})
    cache = CachedMembership(chain, clock, ttl=60, members=4, strangers=100)
    assert cache.member(member) is not None
    for stranger in _addresses(5_000, "ee"):  # an attacker rotating random keys
        assert cache.member(stranger) is None
    asked = chain.asked
    assert cache.member(member) is not None and chain.asked == asked  # still cached: no chain call


def test_addresses_never_admitted_cost_the_node_nothing() -> None:
    member = "0x" + "cd" * 20
    chain = _CountingChain({member})
    cache = CachedMembership(chain, FakeClock(), ttl=60, known=lambda: frozenset({member.lower()}))
    for stranger in _addresses(1_000, "ff"):
        assert cache.member(stranger) is None
    assert chain.asked == 0
    assert cache.member(member) is not None and chain.asked == 1


def test_a_removed_member_is_refused_once_its_answer_expires() -> None:
    clock = FakeClock()
    member = "0x" + "ef" * 20
    chain = _CountingChain({member})
    cache = CachedMembership(chain, clock, ttl=5)
    assert cache.member(member) is not None
    chain.members.clear()
    clock.value += 6
    assert cache.member(member) is None


def test_non_members_on_the_real_gateway_do_not_reach_the_node(gateway: Gateway) -> None:
    membership = gateway.services.membership
    before = membership.chain_calls  # type: ignore[attr-defined]  # CachedMembership's counter, not on the protocol
    for _ in range(20):
        assert gateway.client("outsider").get("/members/me").status_code == 403
    assert membership.chain_calls == before  # type: ignore[attr-defined]  # as above


def test_unrelated_blocks_keep_a_jobs_verification_and_its_own_events_renew_it(gateway: Gateway) -> None:
    consortium, reader = gateway.consortium, gateway.services.audit
    regulator = gateway.client("regulator")
    assert regulator.get(f"/audit/jobs/{consortium.job_id}").status_code == 200
    runs = reader.verifications  # type: ignore[union-attr]  # the ledger-backed reader, never None here
    for _ in range(3):  # blocks that do not touch the job
        consortium.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # anvil's RPC method, not in web3's typed list
        gateway.clock.value += 2  # the index syncs again
        assert regulator.get(f"/audit/jobs/{consortium.job_id}").json()["verified"] is True
    assert reader.verifications == runs  # type: ignore[union-attr]  # as above

    job_id = open_job(consortium.w3, consortium.deployment, consortium.people)
    gateway.clock.value += 2
    assert regulator.get(f"/audit/jobs/{job_id}").json()["job"]["status"] == "Open"
    consent(consortium.w3, consortium.deployment, consortium.people, job_id)
    gateway.clock.value += 2
    assert regulator.get(f"/audit/jobs/{job_id}").json()["job"]["status"] == "Ready"  # its new events: re-verified

"""Four organisations' nodes on one etcd: transactions sent to any node are ordered, sealed by a quorum and
final everywhere with the same head."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_keys import keys

from ledger.consensus.engine import Timing
from ledger.consensus.service import Service, start_service
from ledger.consensus.validators import quorum
from tests.ledger.consensus.consortium import heads, make_consortium, receipt, rpc, send_transfer, wait_for
from tests.ledger.consensus.etcd_cluster import EtcdCluster, loopback_cluster

FAST = Timing(round_timeout=3.0, lease_ttl=2, stand_down=2.0, poll=0.1)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = loopback_cluster(tmp_path_factory.mktemp("etcd"), size=1)
    try:
        cluster.wait_healthy()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Service], list]]:
    orgs = make_consortium(tmp_path_factory.mktemp("orgs"))
    services = []
    try:
        for org in orgs:
            services.append(
                start_service(org.directory, keys.PrivateKey(org.account.key), etcd.client_urls, port=0, timing=FAST)
            )
        yield services, orgs
    finally:
        for service in services:
            service.stop()


def test_transactions_sent_to_any_node_are_final_everywhere_with_a_quorum_of_seals(cluster: tuple) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    sent = [send_transfer(urls[i % 4], orgs[i % 4].account, nonce=0) for i in range(4)]
    sent += [send_transfer(urls[(i + 1) % 4], orgs[i % 4].account, nonce=1) for i in range(4)]

    for tx_hash in sent:
        found = wait_for(f"receipt of {tx_hash} on every node", lambda h=tx_hash: all(receipt(u, h) for u in urls))
        assert found
    target = max(h for h, _ in heads(urls))

    def same_head() -> bool:
        seen = set(heads(urls))
        return len(seen) == 1 and next(iter(seen))[0] >= target

    wait_for("every node at the same head", same_head)
    (height, head), *_ = heads(urls)
    assert set(heads(urls)) == {(height, head)}
    for url in urls:
        status = rpc(url, "custos_consensus")
        assert status["head"] == head
        assert status["quorum"] == quorum(4) == 3
        assert status["headSeals"] >= 3
        assert status["evidence"] == [] and status["halted"] is None
        assert len(rpc(url, "custos_getBlockSeals", [head])) >= 3

"""One etcd member and four organisations' nodes (plus a fifth organisation without a node yet), started once
for every test in this package and stopped after the last.

The tests share the cluster and run in file order: test_blocks.py leaves evidence that its own chain status
test reports, and test_governance.py then changes the validator set (adds the fifth, removes the fourth).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_keys import keys

from ledger.consensus.etcd import EtcdClient
from ledger.consensus.service import Service, start_service
from tests.ledger.consensus.cluster.driving import FAST
from tests.ledger.consensus.consortium import ORG_NAMES, Org, make_consortium
from tests.ledger.consensus.etcd_cluster import EtcdCluster, loopback_cluster


@pytest.fixture(scope="package")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One healthy etcd member on loopback."""
    cluster = loopback_cluster(tmp_path_factory.mktemp("etcd"), size=1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def etcd_client(etcd: EtcdCluster) -> Iterator[EtcdClient]:
    """A client of that member, for reading and (as a cheat) writing consensus keys."""
    client = EtcdClient(etcd.client_urls)
    yield client
    client.close()


@pytest.fixture(scope="package")
def cluster(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Service], list[Org]]]:
    """The four validators' services, and all five organisations."""
    # A fifth member, not a validator at genesis: governance makes it one (test_governance_adds_…).
    orgs = make_consortium(tmp_path_factory.mktemp("orgs"), ORG_NAMES + ("registry",), validators=4)
    services = []
    try:
        for org in orgs[:4]:
            services.append(
                start_service(org.directory, keys.PrivateKey(org.account.key), etcd.client_urls, port=0, timing=FAST)
            )
        for service in services:
            # A node that falls behind what etcd keeps takes the blocks from the others.
            service.engine.peers = [s.url for s in services if s is not service]
        yield services, orgs
    finally:
        for service in services:
            service.stop()

"""The consortium over an etcd member that requires TLS and a client certificate (each organisation's own CA)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from eth_keys import keys

from ledger.consensus.engine import Timing
from ledger.consensus.etcd import EtcdTLS
from ledger.consensus.service import start_service
from tests.ledger.consensus.consortium import make_consortium, receipt, rpc, send_transfer, wait_for
from tests.ledger.consensus.etcd_cluster import loopback_cluster
from tests.ledger.consensus.tls import make_org_certs


def test_two_organisations_finalise_through_etcd_with_tls_and_client_certificates(tmp_path: Path) -> None:
    orgs = make_consortium(tmp_path / "orgs", names=("bank", "hospital"))
    certs = [make_org_certs(tmp_path / "pki" / org.name, org.name) for org in orgs]
    trusted = tmp_path / "pki" / "consortium-cas.pem"
    trusted.write_bytes(b"".join(c.ca.read_bytes() for c in certs))
    server = certs[0]
    etcd = loopback_cluster(
        tmp_path / "etcd",
        size=1,
        scheme="https",
        extra=[
            "--client-cert-auth",
            "--trusted-ca-file", str(trusted),
            "--cert-file", str(server.cert),
            "--key-file", str(server.key),
        ],
    )  # fmt: skip
    services = []
    try:
        etcd.verify = EtcdTLS(str(trusted), str(server.cert), str(server.key)).context()
        etcd.wait_healthy()
        # Without a client certificate etcd refuses the connection.
        with pytest.raises(httpx.HTTPError):
            httpx.get(
                etcd.client_urls[0] + "/health", verify=ssl.create_default_context(cafile=str(trusted)), timeout=5
            )
        for org, own in zip(orgs, certs, strict=True):
            tls = EtcdTLS(str(trusted), str(own.cert), str(own.key))
            services.append(
                start_service(
                    org.directory, keys.PrivateKey(org.account.key), etcd.client_urls, port=0, tls=tls, timing=Timing()
                )
            )

        tx_hash = send_transfer(services[1].url, orgs[0].account, nonce=0)

        found = wait_for("the receipt on both nodes", lambda: all(receipt(s.url, tx_hash) for s in services))
        assert found
        status = rpc(services[0].url, "custos_consensus")
        assert status["quorum"] == 2 and status["headSeals"] == 2
        assert status["etcd"]["following"] is True
    finally:
        for service in services:
            service.stop()
        etcd.stop()

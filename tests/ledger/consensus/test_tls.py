"""The consortium over an etcd member that requires TLS and a client certificate (each organisation's own CA)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
from eth_keys import keys
from typer.testing import CliRunner

from custos.cli import app
from ledger.consensus.etcd import EtcdClient, EtcdError, EtcdTLS
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.service import start_service
from ledger.consensus.timing import Timing
from tests.ledger.consensus.consortium import CHAIN_ID, make_consortium, receipt, rpc, send_transfer, wait_for
from tests.ledger.consensus.etcd_cluster import EtcdCluster, loopback_cluster
from tests.ledger.consensus.tls import OrgCerts, make_org_certs


def _tls_etcd(tmp_path: Path, certs: list[OrgCerts]) -> tuple[Path, EtcdCluster]:
    """One etcd member requiring TLS client certificates from any of the organisations' CAs (the first serves)."""
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
        verify=EtcdTLS(str(trusted), str(server.cert), str(server.key)).context(),
    )  # fmt: skip
    return trusted, etcd


def test_two_organisations_finalise_through_etcd_with_tls_and_client_certificates(tmp_path: Path) -> None:
    orgs = make_consortium(tmp_path / "orgs", names=("bank", "hospital"))
    certs = [make_org_certs(tmp_path / "pki" / org.name, org.name) for org in orgs]
    trusted, etcd = _tls_etcd(tmp_path, certs)
    services = []
    try:
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


def test_with_etcd_auth_set_by_chain_access_an_organisation_cannot_write_another_organisations_seal(
    tmp_path: Path,
) -> None:
    orgs = make_consortium(tmp_path / "orgs", names=("bank", "hospital"))
    certs = [make_org_certs(tmp_path / "pki" / org.name, org.name) for org in orgs]
    root_cert = make_org_certs(tmp_path / "pki" / "root", "root")
    trusted, etcd = _tls_etcd(tmp_path, [*certs, root_cert])
    services = []
    try:
        admin_tls = EtcdTLS(str(trusted), str(root_cert.cert), str(root_cert.key))
        addresses = {org.name: bytes.fromhex(org.account.address[2:]) for org in orgs}
        secrets = tmp_path / "etcd-passwords.json"
        tls_flags = [
            "--etcd-cacert",
            str(trusted),
            "--etcd-cert",
            str(root_cert.cert),
            "--etcd-key",
            str(root_cert.key),
        ]
        command = [
            "chain",
            "access",
            str(orgs[0].directory),
            "--etcd",
            etcd.client_urls[0],
            "--passwords",
            str(secrets),
        ]

        secrets.write_text(json.dumps({"bank": "b-secret"}))
        refused = CliRunner().invoke(app, [*command, *tls_flags], env={"CUSTOS_ETCD_ROOT_PASSWORD": "root-pw"})
        no_root = CliRunner().invoke(app, [*command, *tls_flags], env={"CUSTOS_ETCD_ROOT_PASSWORD": ""})
        assert refused.exit_code == 1 and "gives no password for hospital" in refused.output
        assert no_root.exit_code == 1 and "CUSTOS_ETCD_ROOT_PASSWORD" in no_root.output
        secrets.unlink()

        applied = CliRunner().invoke(app, [*command, *tls_flags], env={"CUSTOS_ETCD_ROOT_PASSWORD": "root-pw"})

        assert applied.exit_code == 0, applied.output
        assert "authentication on: users bank, hospital and root" in applied.output
        assert secrets.stat().st_mode & 0o077 == 0, "the initial passwords file is readable by others"
        passwords = json.loads(secrets.read_text())
        again = CliRunner().invoke(app, [*command, *tls_flags], env={"CUSTOS_ETCD_ROOT_PASSWORD": "root-pw"})
        assert again.exit_code == 1 and "already applied?" in again.output
        admin = EtcdClient(etcd.client_urls, admin_tls, credentials=("root", "root-pw"))
        for org, own in zip(orgs, certs, strict=True):
            tls = EtcdTLS(str(trusted), str(own.cert), str(own.key))
            services.append(
                start_service(
                    org.directory,
                    keys.PrivateKey(org.account.key),
                    etcd.client_urls,
                    port=0,
                    tls=tls,
                    timing=Timing(),
                    etcd_credentials=(org.name, passwords[org.name]),
                )
            )
        tx_hash = send_transfer(services[0].url, orgs[1].account, nonce=0)
        found = wait_for(
            "the receipt on both nodes under etcd auth", lambda: all(receipt(s.url, tx_hash) for s in services)
        )
        assert found
        hospital = EtcdClient(
            etcd.client_urls,
            EtcdTLS(str(trusted), str(certs[1].cert), str(certs[1].key)),
            credentials=("hospital", passwords["hospital"]),
        )
        forged_key = Keyspace(CHAIN_ID).seal(addresses["bank"], 99, 0, b"\x01" * 32)

        with pytest.raises(EtcdError, match="permission denied"):
            hospital.put(forged_key, b"\x00" * 65)

        hospital.put(Keyspace(CHAIN_ID).seal(addresses["hospital"], 99, 0, b"\x01" * 32), b"\x00" * 65)
        assert admin.get(forged_key) is None
        hospital.close()
        admin.close()
    finally:
        for service in services:
            service.stop()
        etcd.stop()

"""`custos gateway call` and `explorer-login` against a running gateway, with a real key file."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custos.cli import app
from ledger.keystore import DEV_PASSWORD, DEV_SCRYPT_N, Keystore
from tests.waiting import wait_for

from .conftest import Gateway


@pytest.fixture(scope="module")
def key_file(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    Keystore(folder).save("regulator", gateway.key("regulator"), DEV_PASSWORD, DEV_SCRYPT_N)
    return folder / "regulator.json"


def test_call_prints_the_signed_answer(gateway: Gateway, key_file: Path) -> None:
    gateway.clock.value = float(int(time.time()))  # the CLI signs with the wall clock
    result = CliRunner().invoke(
        app, ["gateway", "call", "GET", "/members/me", "--keystore", str(key_file), "--url", gateway.url]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["name"] == "Regulator"


def test_call_exits_non_zero_with_the_error_body(gateway: Gateway, key_file: Path) -> None:
    gateway.clock.value = float(int(time.time()))
    result = CliRunner().invoke(
        app, ["gateway", "call", "POST", "/sources", "--json", "{}", "--keystore", str(key_file), "--url", gateway.url]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["code"] == "auth.wrong_role"


def test_explorer_login_prints_a_one_time_link(gateway: Gateway, key_file: Path) -> None:
    gateway.clock.value = float(int(time.time()))
    result = CliRunner().invoke(app, ["gateway", "explorer-login", "--keystore", str(key_file), "--url", gateway.url])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith(gateway.url + "/explorer/login?code=")


def test_unreachable_gateway_is_a_clear_error(key_file: Path) -> None:
    result = CliRunner().invoke(
        app, ["gateway", "call", "GET", "/chain", "--keystore", str(key_file), "--url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert "cannot reach the gateway" in result.output and "Traceback" not in result.output


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_flags_come_in_pairs(key_file: Path, tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    result = CliRunner().invoke(
        app, ["gateway", "up", "--keystore", str(key_file), "--rpc", "http://127.0.0.1:9", "--tls-cert", str(cert)]
    )
    assert result.exit_code == 1 and "--tls-key" in result.output


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--runner"], "--runner needs --workspace"),
        (["--runner", "--workspace", "ws", "--host", "0.0.0.0"], "give the --public-url"),
        (["--runner", "--workspace", "ws", "--public-url", "10.0.0.3:8080"], "must be an http:// or https:// URL"),
    ],
)
def test_a_hosted_runner_without_an_address_peers_can_reach_is_a_clear_error(
    key_file: Path, flags: list[str], said: str
) -> None:
    result = CliRunner().invoke(
        app, ["gateway", "up", "--keystore", str(key_file), "--rpc", "http://127.0.0.1:9", *flags]
    )
    assert result.exit_code == 1 and said in result.output and "Traceback" not in result.output


def test_gateway_up_on_a_port_another_process_holds_fails_before_reaching_the_chain(key_file: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        result = CliRunner().invoke(
            app, ["gateway", "up", "--keystore", str(key_file), "--rpc", "http://127.0.0.1:9", "--port", str(port)]
        )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output  # not "cannot reach the node at ...:9"


def test_gateway_up_serves_https_with_a_secure_cookie(gateway: Gateway, tmp_path: Path) -> None:
    import ssl
    import subprocess
    import sys

    import httpx

    from custos.demo_processes import stop_process
    from gateway.client import GatewayClient

    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    Keystore(tmp_path).save("bank", gateway.key("bank"), DEV_PASSWORD, DEV_SCRYPT_N)
    (tmp_path / "deployment.json").write_text(gateway.consortium.deployment.to_json())
    rpc = gateway.consortium.w3.provider.endpoint_uri  # type: ignore[attr-defined]  # an HTTPProvider in this fixture
    command = [sys.executable, "-m", "custos", "gateway", "up", "--keystore", str(tmp_path / "bank.json")]
    command += ["--rpc", rpc, "--deployment", str(tmp_path / "deployment.json"), "--port", "0"]
    command += ["--tls-cert", str(cert), "--tls-key", str(key)]
    out = tmp_path / "gateway.out"
    with out.open("w") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    try:
        # --port 0: the system picks the port, and the first line names it.
        said = wait_for(
            lambda: re.search(r"^gateway on (\S+) ", out.read_text(), re.MULTILINE),
            60,
            "the gateway to say where it listens",
        )
        url = said[1]
        assert re.fullmatch(r"https://127\.0\.0\.1:[1-9][0-9]*", url), url

        def serving() -> bool:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                return httpx.get(url + "/domain", verify=trust, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(serving, 60, "the HTTPS gateway to answer")
        client = GatewayClient.connect(url, gateway.key("regulator"), verify=trust)
        login = client.post("/sessions").json()["login_path"]
        answer = httpx.get(url + login, verify=trust)
        assert "Secure" in answer.headers["set-cookie"] and "HttpOnly" in answer.headers["set-cookie"]
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    finally:
        stop_process(process, grace=20)

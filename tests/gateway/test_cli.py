"""`custos gateway call` and `explorer-login` against a running gateway, with a real key file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custos.cli import app
from ledger.keystore import DEV_PASSWORD, DEV_SCRYPT_N, Keystore

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

"""Each organisation makes its own key; the bundle holds no secret and every organisation re-derives its genesis."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from custos.cli import app
from ledger.keystore import Keystore

runner = CliRunner()
ENV = {"CUSTOS_KEYSTORE_PASSWORD": "correct horse"}


def _keygen(path: Path) -> str:
    result = runner.invoke(app, ["chain", "keygen", "--out", str(path)], env=ENV)
    assert result.exit_code == 0, result.output
    return result.output.split("address: ")[1].strip()


def _consortium(addresses: list[str]) -> dict:
    names = ["bank", "hospital", "bureau", "insurer"]
    return {
        "chainId": 727_100,
        "organisations": [
            {"name": n, "address": a, "roles": ["REQUESTER", "VALIDATOR"]}
            for n, a in zip(names, addresses, strict=False)
        ],
    }


def test_keygen_writes_an_encrypted_key_that_only_the_password_opens(tmp_path: Path) -> None:
    address = _keygen(tmp_path / "keys" / "bank.json")

    stored = json.loads((tmp_path / "keys" / "bank.json").read_text())
    assert "crypto" in stored and "private" not in json.dumps(stored).lower().replace("privatekey", "")
    assert Keystore(tmp_path / "keys").unlock("bank", "correct horse").address == address
    again = runner.invoke(app, ["chain", "keygen", "--out", str(tmp_path / "keys" / "bank.json")], env=ENV)
    assert again.exit_code == 1 and "already exists" in again.output


def test_two_organisations_derive_the_same_bundle_and_it_holds_no_secret(tmp_path: Path) -> None:
    addresses = [_keygen(tmp_path / "keys" / f"k{i}.json") for i in range(2)]
    c = tmp_path / "c.json"
    c.write_text(json.dumps(_consortium(addresses)))

    first = runner.invoke(app, ["chain", "init", "--consortium", str(c), "--out", str(tmp_path / "a")])
    second = runner.invoke(app, ["chain", "init", "--consortium", str(c), "--out", str(tmp_path / "b")])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert (tmp_path / "a" / "GENESIS").read_text() == (tmp_path / "b" / "GENESIS").read_text()
    written = {p.name for p in (tmp_path / "a").iterdir()}
    assert written == {"consortium.json", "genesis.json", "deployment.json", "etcd.json", "GENESIS"}
    text = "".join(p.read_text() for p in (tmp_path / "a").iterdir())
    assert "crypto" not in text and "ciphertext" not in text
    genesis = json.loads((tmp_path / "a" / "genesis.json").read_text())
    assert genesis["bootstrap"] is None and len(genesis["validators"]) == 2
    # Genesis admits the members with no MemberAdded event: the deployment names them for the event index's readers.
    pinned = json.loads((tmp_path / "a" / "deployment.json").read_text())["genesis"]
    assert {a.lower() for a in pinned["members"]} == {a.lower() for a in addresses}


def test_a_received_bundle_with_another_genesis_is_refused(tmp_path: Path) -> None:
    addresses = [_keygen(tmp_path / "keys" / f"k{i}.json") for i in range(2)]
    honest = tmp_path / "c.json"
    honest.write_text(json.dumps(_consortium(addresses)))
    # The sender of the bundle quietly gave itself the only VALIDATOR role.
    forged = _consortium(addresses)
    forged["organisations"][1]["roles"] = ["REQUESTER"]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    received = tmp_path / "received"
    made = runner.invoke(app, ["chain", "init", "--consortium", str(tmp_path / "forged.json"), "--out", str(received)])
    assert made.exit_code == 0, made.output

    checked = runner.invoke(app, ["chain", "init", "--consortium", str(honest), "--out", str(received)])

    assert checked.exit_code == 1
    assert "refusing the bundle" in checked.output and "derives" in checked.output


def test_a_consortium_file_without_addresses_is_refused(tmp_path: Path) -> None:
    c = tmp_path / "c.json"
    c.write_text(json.dumps({"chainId": 1, "organisations": [{"name": "bank", "roles": ["VALIDATOR"]}]}))

    result = runner.invoke(app, ["chain", "init", "--consortium", str(c), "--out", str(tmp_path / "b")])

    assert result.exit_code == 1 and "bank has no address" in result.output and "keygen" in result.output

"""Encrypted key files: round trip, wrong password, password from the environment or a file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from eth_account import Account

from ledger.keystore import DEV_SCRYPT_N, PASSWORD_ENV, PASSWORD_FILE_ENV, Keystore, KeystoreError, password_from_env


def test_saved_key_unlocks_with_its_password_only(tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    account = store.create("bank", "correct horse", DEV_SCRYPT_N)
    assert store.unlock("bank", "correct horse").key == account.key
    assert store.address("bank") == account.address and store.names() == ["bank"]
    assert stat.S_IMODE((tmp_path / "bank.json").stat().st_mode) == 0o600
    assert account.key.hex() not in (tmp_path / "bank.json").read_text()
    with pytest.raises(KeystoreError, match="wrong password"):
        store.unlock("bank", "battery staple")


def test_existing_missing_and_malformed_names_are_refused(tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    store.save("bank", Account.create().key, "pw", DEV_SCRYPT_N)
    with pytest.raises(KeystoreError, match="already exists"):
        store.save("bank", Account.create().key, "pw", DEV_SCRYPT_N)
    with pytest.raises(KeystoreError, match="no key"):
        store.unlock("hospital", "pw")
    with pytest.raises(KeystoreError, match="invalid key name"):
        store.path("../escape")


def test_password_comes_from_env_then_file_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_FILE_ENV, raising=False)
    with pytest.raises(KeystoreError, match=PASSWORD_ENV):
        password_from_env()
    assert password_from_env(default="dev") == "dev"
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret))
    assert password_from_env() == "from-file"
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert password_from_env() == "from-env"

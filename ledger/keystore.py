"""Encrypted key files (Ethereum keystore v3, via eth-account) and how their password is found.

The password comes from `CUSTOS_KEYSTORE_PASSWORD`, or from the file named by
`CUSTOS_KEYSTORE_PASSWORD_FILE`. A development consortium uses the documented password
`DEV_PASSWORD` and light scrypt parameters: its keys protect nothing. Secrets are never
logged or echoed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.errors import KeystoreError  # re-exported: one error for every keystore failure

PASSWORD_ENV = "CUSTOS_KEYSTORE_PASSWORD"
PASSWORD_FILE_ENV = "CUSTOS_KEYSTORE_PASSWORD_FILE"
DEV_PASSWORD = "custos-dev-insecure"
# scrypt n: eth-account's default (2^18, ~1 s per key) for real keys; 2^12 for dev keys.
STRONG_SCRYPT_N = 2**18
DEV_SCRYPT_N = 2**12


def password_from_env(default: str | None = None) -> str:
    """The keystore password from the environment (or `default`); raises KeystoreError if none."""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    path = os.environ.get(PASSWORD_FILE_ENV)
    if path:
        try:
            return Path(path).read_text().rstrip("\n")
        except OSError as exc:
            raise KeystoreError(f"cannot read the password file named by {PASSWORD_FILE_ENV}: {exc.strerror}") from None
    if default is not None:
        return default
    raise KeystoreError(f"no keystore password: set {PASSWORD_ENV} or {PASSWORD_FILE_ENV}")


class Keystore:
    """A folder of named v3 key files (`<name>.json`)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        """Where key `name` is stored."""
        if not name or "/" in name or name.startswith("."):
            raise KeystoreError(f"invalid key name {name!r}")
        return self.folder / f"{name}.json"

    def names(self) -> list[str]:
        """Names of the stored keys."""
        return sorted(p.stem for p in self.folder.glob("*.json"))

    def create(self, name: str, password: str, scrypt_n: int = STRONG_SCRYPT_N) -> LocalAccount:
        """Generate a new key, store it encrypted, return the account."""
        account: LocalAccount = Account.create()
        self.save(name, account.key, password, scrypt_n)
        return account

    def save(self, name: str, private_key: bytes, password: str, scrypt_n: int = STRONG_SCRYPT_N) -> str:
        """Encrypt and store `private_key` as `name`; returns its checksummed address."""
        path = self.path(name)
        if path.exists():
            raise KeystoreError(f"key {name!r} already exists in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        encrypted = Account.encrypt(private_key, password, kdf="scrypt", iterations=scrypt_n)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(encrypted, f)
        return str(Account.from_key(private_key).address)

    def address(self, name: str) -> str:
        """The checksummed address of key `name`, without decrypting it."""
        return to_checksum_address("0x" + self._read(name)["address"].removeprefix("0x"))

    def unlock(self, name: str, password: str) -> LocalAccount:
        """Decrypt key `name`; raises KeystoreError on a wrong password."""
        try:
            account: LocalAccount = Account.from_key(Account.decrypt(self._read(name), password))
            return account
        except ValueError:
            raise KeystoreError(f"wrong password for key {name!r}") from None

    def _read(self, name: str) -> dict[str, Any]:
        try:
            document: dict[str, Any] = json.loads(self.path(name).read_text())
            return document
        except FileNotFoundError:
            raise KeystoreError(f"no key {name!r} in {self.folder}") from None
        except (OSError, ValueError) as exc:
            raise KeystoreError(f"unreadable key file for {name!r}: {exc}") from None

"""A party's workspace: where its data files, salts, transport key and job parameters live.

```
<folder>/workspace.json   name, keystore, chain RPC, deployment, data sources (no secrets)
<folder>/secrets.json     per-source salt secrets and the X25519 transport key (mode 0600)
<folder>/params/<hash>.json  parameter documents of jobs, named by their keccak256
<folder>/runs/<job id>.json  this party's checked runs awaiting commit or attestation (checked_runs.py)
<folder>/results/<job id>.json  result bundles of committed jobs (service/results.py)
```
Raw data stays in the files the workspace points at; only commitments go on chain.
Files a runner writes while a gateway reads them, or that must outlive a crash, are written
with `write_durably`: whole or not at all, and on disk before the call returns.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak

from compute.errors import InvalidInput


def write_durably(target: Path, data: bytes) -> None:
    """Write `data` to `target` so that a reader, or a restart after a crash, sees all of it or none of it.

    A temporary file beside `target` is written and fsync'd, then renamed over it, then the folder
    fsync'd, so the rename itself survives a power cut (a rename alone is atomic but may be lost).
    The file is readable by its owner only (0600): runs and outputs hold private results such as a
    PSI receiver's intersection.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@dataclass(frozen=True)
class SourceFile:
    """A registered data source's local file and how to read it."""

    source_id: int
    path: Path
    id_column: str
    secret: bytes = field(repr=False)
    label_column: str | None = None
    runner_consents: bool = True  # False: the runner waits for `custos job consent` (explicit policy)


@dataclass
class Workspace:
    """A party's local configuration and secrets."""

    folder: Path
    name: str
    keystore: Path
    rpc: str
    deployment: Path
    transport_key: bytes = field(repr=False)
    sources: dict[int, SourceFile] = field(default_factory=dict)

    @classmethod
    def create(cls, folder: Path, name: str, keystore: Path, rpc: str, deployment: Path) -> Workspace:
        """A new, empty workspace with a fresh transport key."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        raw = X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        workspace = cls(Path(folder), name, Path(keystore), rpc, Path(deployment), raw)
        workspace.save()
        return workspace

    @classmethod
    def load(cls, folder: Path) -> Workspace:
        """Read a workspace; InvalidInput naming the file if it is missing or malformed."""
        folder = Path(folder)
        try:
            public = json.loads((folder / "workspace.json").read_text())
            secret = json.loads((folder / "secrets.json").read_text())
            sources = {
                int(s["source_id"]): SourceFile(
                    int(s["source_id"]),
                    Path(s["path"]),
                    s["id_column"],
                    bytes.fromhex(secret["sources"][str(s["source_id"])]),
                    s.get("label_column"),
                    bool(s.get("runner_consents", True)),
                )
                for s in public["sources"]
            }
            return cls(
                folder,
                public["name"],
                Path(public["keystore"]),
                public["rpc"],
                Path(public["deployment"]),
                bytes.fromhex(secret["transport_key"]),
                sources,
            )
        except FileNotFoundError as exc:
            raise InvalidInput(f"no workspace at {folder}: {exc.filename} is missing") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"workspace {folder} is malformed: {exc}") from None

    def save(self) -> None:
        """Write workspace.json and secrets.json (the latter readable by the owner only)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        public = {
            "name": self.name,
            "keystore": str(self.keystore),
            "rpc": self.rpc,
            "deployment": str(self.deployment),
            "sources": [
                {
                    "source_id": s.source_id,
                    "path": str(s.path),
                    "id_column": s.id_column,
                    "label_column": s.label_column,
                    "runner_consents": s.runner_consents,
                }
                for s in self.sources.values()
            ],
        }
        secret = {
            "transport_key": self.transport_key.hex(),
            "sources": {str(s.source_id): s.secret.hex() for s in self.sources.values()},
        }
        (self.folder / "workspace.json").write_text(json.dumps(public, indent=1))
        path = self.folder / "secrets.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(secret, handle)

    def member(self, password: str | None = None) -> Any:
        """This party's `ledger.member.MemberLedger`, its key unlocked from the keystore."""
        from ledger.keystore import Keystore, password_from_env
        from ledger.member import MemberLedger

        account = Keystore(self.keystore).unlock(self.name, password or password_from_env())
        return MemberLedger.open(self.rpc, self.deployment, account)

    def add_source(self, source: SourceFile) -> None:
        """Remember a registered source's file and salt secret."""
        self.sources[source.source_id] = source
        self.save()

    def put_params(self, document: dict[str, Any]) -> bytes:
        """Store a job parameter document; returns its keccak256 (the job's parameter hash)."""
        from compute.result import canonical_json

        raw = canonical_json(document)
        digest = keccak(raw)
        folder = self.folder / "params"
        folder.mkdir(exist_ok=True)
        (folder / f"{digest.hex()}.json").write_bytes(raw)
        return digest

    def get_params(self, params_hash: bytes) -> dict[str, Any]:
        """The parameter document whose keccak256 is `params_hash`; InvalidInput if absent or altered."""
        path = self.folder / "params" / f"{params_hash.hex()}.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"no parameter document 0x{params_hash.hex()} in {self.folder / 'params'}") from None
        if keccak(raw) != params_hash:
            raise InvalidInput(f"parameter document {path} does not match its hash")
        document: dict[str, Any] = json.loads(raw)
        return document

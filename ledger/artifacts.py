"""Compiled contract artifacts: build them with solc-js, load them at run time.

`python -m ledger.artifacts build` compiles every contract under `contracts/src` through
solc-js's standard-JSON interface with pinned settings and writes one JSON file per
contract into `ledger/abi/`, which is committed: the Python side never needs Node.
`python -m ledger.artifacts check` recompiles and names every contract whose committed
artifact differs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "abi"

SOLC_VERSION = "0.8.37"
# py-evm 0.12 runs Cancun and Prague; Cancun is also what Besu/GoQuorum consortia run today.
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200


class ArtifactError(Exception):
    """An artifact is missing, or compiling the contracts failed."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI and creation/runtime bytecode."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes


def compiler_settings() -> dict[str, Any]:
    """The pinned solc standard-JSON settings every artifact is built with."""
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        # No metadata hash: the bytecode then depends on the sources alone, not on paths.
        "metadata": {"bytecodeHash": "none"},
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
    }


def _solcjs(contracts_dir: Path) -> Path:
    path = contracts_dir / "node_modules" / "solc" / "solc.js"
    if not path.is_file():
        raise ArtifactError(f"solc-js is not installed: run 'npm ci' in {contracts_dir}")
    return path


def _check_compiler_version(solcjs: Path) -> None:
    version = subprocess.run(
        ["node", str(solcjs), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.startswith(SOLC_VERSION + "+"):
        raise ArtifactError(f"solc-js {version} installed, {SOLC_VERSION} pinned: run 'npm ci' in {CONTRACTS_DIR}")


def compile_sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, Any]]:
    """Compile every `.sol` file under `contracts_dir/src`; return artifacts keyed by contract name."""
    solcjs = _solcjs(contracts_dir)
    _check_compiler_version(solcjs)
    sources = {
        path.relative_to(contracts_dir).as_posix(): {"content": path.read_text()}
        for path in sorted((contracts_dir / "src").rglob("*.sol"))
    }
    if not sources:
        raise ArtifactError(f"no Solidity sources under {contracts_dir / 'src'}")
    request = {"language": "Solidity", "sources": sources, "settings": compiler_settings()}
    # solc-js through files, not pipes: it reads stdin with readFileSync (EAGAIN once the
    # request outgrows a pipe buffer) and can exit before a piped stdout drains.
    with tempfile.TemporaryFile("w+") as stdin, tempfile.TemporaryFile("w+") as stdout:
        stdin.write(json.dumps(request))
        stdin.seek(0)
        proc = subprocess.run(
            ["node", str(solcjs), "--standard-json", "--base-path", ".", "--include-path", "node_modules"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            cwd=contracts_dir,
        )
        stdout.seek(0)
        raw = stdout.read()
    payload = "\n".join(line for line in raw.splitlines() if not line.startswith(">>>"))
    if proc.returncode != 0 or not payload.strip():
        raise ArtifactError(f"solc-js failed: {proc.stderr.strip() or payload.strip()}")
    output = json.loads(payload)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ArtifactError("compilation failed:\n" + "\n".join(e["formattedMessage"] for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for source, contracts in output["contracts"].items():
        if source not in sources:
            continue  # libraries pulled in by import are not artifacts of ours
        for name, out in contracts.items():
            if name in artifacts:
                raise ArtifactError(f"contract name {name} is defined twice ({source})")
            artifacts[name] = {
                "contractName": name,
                "sourceName": source,
                "compiler": {"version": SOLC_VERSION, "settings": compiler_settings()},
                "abi": out["abi"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
            }
    return artifacts


def _render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def build() -> list[str]:
    """Compile and (re)write the committed artifacts; return the contract names written."""
    artifacts = compile_sources()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    for stale in ARTIFACTS_DIR.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for name, artifact in artifacts.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(_render(artifact))
    load.cache_clear()
    return sorted(artifacts)


def stale_contracts(contracts_dir: Path = CONTRACTS_DIR, artifacts_dir: Path = ARTIFACTS_DIR) -> list[str]:
    """Recompile and return the names of contracts whose committed artifact is missing or differs."""
    fresh = compile_sources(contracts_dir)
    stale = []
    for name, artifact in fresh.items():
        path = artifacts_dir / f"{name}.json"
        if not path.is_file() or path.read_text() != _render(artifact):
            stale.append(name)
    stale.extend(p.stem for p in artifacts_dir.glob("*.json") if p.stem not in fresh)
    return sorted(stale)


@cache
def load(name: str) -> Artifact:
    """Load the committed artifact of contract `name`."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json"))) or "none"
        raise ArtifactError(f"no artifact for contract {name!r} (known: {known})")
    raw = json.loads(path.read_text())
    return Artifact(
        name=raw["contractName"],
        source=raw["sourceName"],
        abi=raw["abi"],
        bytecode=bytes.fromhex(raw["bytecode"][2:]),
        deployed_bytecode=bytes.fromhex(raw["deployedBytecode"][2:]),
    )


def main(argv: list[str] | None = None) -> int:
    """`build` or `check` the committed artifacts."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "build"
    try:
        if command == "build":
            names = build()
            print(f"wrote {len(names)} artifacts to {ARTIFACTS_DIR}: {', '.join(names)}")
            return 0
        if command == "check":
            stale = stale_contracts()
            if stale:
                print(f"stale artifacts: {', '.join(stale)}; run 'python -m ledger.artifacts build'")
                return 1
            print("artifacts are up to date")
            return 0
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m ledger.artifacts [build|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

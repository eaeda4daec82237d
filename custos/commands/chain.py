"""`custos chain …`: create, run and inspect the embedded consortium chain."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import typer

app = typer.Typer(name="chain", help="The embedded consortium chain (py-evm, PoA, permissioned).", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _password() -> str | None:
    from ledger.keystore import PASSWORD_ENV, PASSWORD_FILE_ENV, password_from_env

    if os.environ.get(PASSWORD_ENV) or os.environ.get(PASSWORD_FILE_ENV):
        return password_from_env()
    return None


@app.command()
def init(
    directory: Path = typer.Argument(..., help="New chain directory."),
    consortium: Path | None = typer.Option(None, "--consortium", help="Consortium file (members, roles, validators)."),
) -> None:
    """Create keys, genesis and contracts; write deployment.json (dev consortium without --consortium)."""
    from ledger.chain.errors import ChainError
    from ledger.chain.genesis import GenesisError
    from ledger.chain.setup import init_chain, load_consortium
    from ledger.keystore import KeystoreError

    try:
        password = _password()
        if consortium is not None and password is None:
            raise _fail("a real consortium needs a keystore password: set CUSTOS_KEYSTORE_PASSWORD(_FILE)")
        result = init_chain(directory, load_consortium(consortium), password)
    except (ChainError, GenesisError, KeystoreError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"chain {result.chain_id} initialised in {result.path}")
    typer.echo(f"validators: {', '.join(result.validators)}")
    for name, address in result.members.items():
        typer.echo(f"member {name}: {address}")
    if password is None:
        typer.echo("development keystore: password is the documented dev password (see ledger/keystore.py)")


@app.command()
def up(
    directory: Path = typer.Argument(..., help="Chain directory made by `custos chain init`."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8545, "--port"),
) -> None:
    """Serve the chain's JSON-RPC over HTTP and seal blocks until stopped."""
    from ledger.chain.errors import ChainError
    from ledger.chain.node import Node
    from ledger.chain.server import ChainServer
    from ledger.chain.setup import validator_key
    from ledger.keystore import KeystoreError

    try:
        node = Node.open(directory, validator_key(directory, _password()))
        server = ChainServer(node, host, port)
    except (ChainError, KeystoreError, OSError) as exc:
        raise _fail(str(exc)) from None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    typer.echo(f"custos chain {node.chain_id} at head {node.head.block_number}, serving {server.url}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        node.close()


@app.command()
def verify(
    directory: Path = typer.Argument(..., help="Chain directory."),
    full: bool = typer.Option(False, "--full", help="Re-execute every block from genesis, comparing every root."),
) -> None:
    """Verify a stored chain: links, header rules, seals and bodies; with --full, every state root too."""
    from ledger.chain.errors import ChainError
    from ledger.chain.node import Node

    try:
        node = Node.open(directory, verify=False)
        try:
            height = node.verify_history(full=full, record=False, from_genesis=True)
        finally:
            node.close()
    except ChainError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"chain verified{' by re-execution' if full else ''} up to block {height}")


@app.command()
def backup(
    directory: Path = typer.Argument(..., help="Chain directory (its node may be running)."),
    target: Path = typer.Argument(..., help="New directory for the copy (restore: use it as the chain directory)."),
) -> None:
    """Copy a chain directory consistently, even while its node is serving and sealing."""
    from ledger.chain.backup import backup_chain
    from ledger.chain.errors import ChainError

    try:
        backup_chain(directory, target)
    except (ChainError, OSError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"backup of {directory} written to {target}")


@app.command()
def status(rpc: str = typer.Option("http://127.0.0.1:8545", "--rpc", help="JSON-RPC endpoint.")) -> None:
    """Height, head, validators, membership contract, and a check of the head's seal."""
    from ledger.chain.status import StatusError, chain_status

    try:
        info = chain_status(rpc)
    except StatusError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(info, indent=1))
    if not info["sealOk"]:
        raise typer.Exit(2)


@app.command()
def allowlist(
    fmt: str = typer.Option("besu", "--format", help="Allowlist format (besu: permissions_config.toml)."),
    rpc: str = typer.Option("http://127.0.0.1:8545", "--rpc", help="JSON-RPC endpoint of a consortium node."),
    deployment: Path = typer.Option(Path("deployment.json"), "--deployment", help="deployment.json naming Consortium."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Write the current on-chain membership as Besu's local accounts allowlist."""
    from web3 import Web3

    from ledger.chain.allowlist import AllowlistError, current_members, render

    try:
        consortium = json.loads(deployment.read_text())["contracts"]["Consortium"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(f"cannot read the Consortium address from {deployment}: {exc}") from None
    try:
        text = render(current_members(Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 10})), consortium), fmt)
    except AllowlistError as exc:
        raise _fail(str(exc)) from None
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}", err=True)

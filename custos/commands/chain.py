"""`custos chain …`: create, run and inspect the embedded consortium chain."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ledger.consensus.etcd import EtcdTLS

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
def keygen(
    out: Path = typer.Option(..., "--out", help="Key file to create (eth-account v3, encrypted), e.g. keys/bank.json."),
) -> None:
    """Generate this organisation's key on this machine; prints only its address (the consortium file's entry)."""
    from eth_account import Account

    from ledger.keystore import Keystore, KeystoreError, password_from_env

    if out.suffix != ".json":
        raise _fail("the key file name must end in .json")
    try:
        password = password_from_env()
        address = Keystore(out.parent).save(out.stem, Account.create().key, password)
    except KeystoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"key written to {out}")
    typer.echo(f"address: {address}")


@app.command()
def init(
    directory: Path | None = typer.Argument(None, help="Dev mode: new chain directory with every key made here."),
    consortium: Path | None = typer.Option(
        None, "--consortium", help="Consortium file: organisations' addresses and roles (no keys)."
    ),
    out: Path | None = typer.Option(None, "--out", help="With --consortium: where to write (or check) the bundle."),
) -> None:
    """Dev mode (`init DIR`): one machine makes every key. Consortium mode (`--consortium c.json --out bundle/`):
    derive the genesis from the file and write a bundle with no secrets, or refuse a received bundle that differs."""
    from ledger.chain.errors import ChainError
    from ledger.chain.genesis import GenesisError
    from ledger.chain.setup import init_chain, load_consortium
    from ledger.consensus.bundle import BundleError, write_bundle
    from ledger.keystore import KeystoreError

    if consortium is not None:
        target = out or directory
        if target is None:
            raise _fail("give the bundle directory: custos chain init --consortium c.json --out bundle/")
        try:
            existed = (target / "GENESIS").exists()
            bundle = write_bundle(consortium, target)
        except (BundleError, GenesisError, ChainError) as exc:
            raise _fail(str(exc)) from None
        verb = "matches the genesis derived here" if existed else "written"
        typer.echo(f"bundle {target} {verb}: genesis 0x{bundle.genesis_hash.hex()}")
        typer.echo(f"validators: {', '.join('0x' + v.hex() for v in bundle.spec.validators)}")
        return
    if directory is None:
        raise _fail("give a directory (dev mode) or --consortium c.json --out bundle/")
    try:
        result = init_chain(directory, load_consortium(None), _password())
    except (ChainError, GenesisError, KeystoreError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"chain {result.chain_id} initialised in {result.path}")
    typer.echo(f"validators: {', '.join(result.validators)}")
    for name, address in result.members.items():
        typer.echo(f"member {name}: {address}")
    typer.echo("development mode: every organisation's key was made on this machine, in one keystore")
    if _password() is None:
        typer.echo("development keystore: password is the documented dev password (see ledger/keystore.py)")


@app.command()
def up(
    directory: Path = typer.Argument(..., help="Chain directory: dev chain, or a consortium bundle."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8545, "--port"),
    key: Path | None = typer.Option(None, "--key", help="This organisation's key file (consortium mode)."),
    etcd: str | None = typer.Option(None, "--etcd", help="The consortium's etcd client URLs, comma-separated."),
    etcd_ca: Path | None = typer.Option(None, "--etcd-cacert", help="CA bundle of the etcd members (TLS)."),
    etcd_cert: Path | None = typer.Option(None, "--etcd-cert", help="This organisation's etcd client certificate."),
    etcd_key: Path | None = typer.Option(None, "--etcd-key", help="The key of that certificate."),
    etcd_user: str | None = typer.Option(
        None, "--etcd-user", help="This organisation's etcd user (password in CUSTOS_ETCD_PASSWORD)."
    ),
    peers: str | None = typer.Option(
        None, "--peers", help="Other nodes' JSON-RPC URLs, for history etcd no longer has."
    ),
    keep_heights: int | None = typer.Option(
        None,
        "--keep-heights",
        min=8,
        help="Heights of rounds etcd keeps below the head (default 256); a node further behind needs --peers.",
    ),
) -> None:
    """Serve the chain's JSON-RPC: alone (dev, quorum 1 of 1) or as one consortium member (--key, --etcd)."""
    if key is not None or etcd is not None:
        _up_member(directory, host, port, key, etcd, (etcd_ca, etcd_cert, etcd_key), peers, etcd_user, keep_heights)
        return
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


def _up_member(
    directory: Path,
    host: str,
    port: int,
    key: Path | None,
    etcd: str | None,
    tls_files: tuple[Path | None, Path | None, Path | None],
    peers: str | None,
    etcd_user: str | None,
    keep_heights: int | None,
) -> None:
    import logging
    import threading

    from eth_keys import keys

    from ledger.chain.errors import ChainError
    from ledger.chain.genesis import GenesisError
    from ledger.consensus.bundle import BundleError
    from ledger.consensus.service import start_service
    from ledger.consensus.timing import Timing
    from ledger.keystore import Keystore, KeystoreError, password_from_env

    if key is None or not etcd:
        raise _fail("a consortium node needs both --key and --etcd")
    # The consensus engine says on stderr when it leads, catches up, stops catching up or halts.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ledger.consensus").setLevel(logging.INFO)
    tls = _etcd_tls(tls_files)
    credentials = None
    if etcd_user:
        if not os.environ.get("CUSTOS_ETCD_PASSWORD"):
            raise _fail("--etcd-user needs the user's password in CUSTOS_ETCD_PASSWORD")
        credentials = (etcd_user, os.environ["CUSTOS_ETCD_PASSWORD"])
    try:
        account = Keystore(key.parent).unlock(key.stem, password_from_env())
        service = start_service(
            directory,
            keys.PrivateKey(account.key),
            _urls(etcd),
            host,
            port,
            tls,
            timing=Timing() if keep_heights is None else Timing(keep_heights=keep_heights),
            peers=_urls(peers or ""),
            etcd_credentials=credentials,
        )
    except (ChainError, GenesisError, BundleError, KeystoreError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    node = service.node
    typer.echo(
        f"custos consortium node {account.address} on chain {node.chain_id} at head {node.head.block_number}, "
        f"serving {service.url}",
        err=True,
    )
    try:
        stop.wait()
    finally:
        service.stop()


def _urls(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def _etcd_tls(tls_files: tuple[Path | None, Path | None, Path | None]) -> EtcdTLS | None:
    from ledger.consensus.etcd import EtcdTLS

    if not any(tls_files):
        return None
    if not all(tls_files):
        raise _fail("etcd TLS needs --etcd-cacert, --etcd-cert and --etcd-key together")
    return EtcdTLS(*(str(p) for p in tls_files))


@app.command()
def access(
    directory: Path = typer.Argument(..., help="The consortium bundle (its consortium.json names the organisations)."),
    etcd: str = typer.Option(..., "--etcd", help="The consortium's etcd client URLs, comma-separated."),
    passwords: Path = typer.Option(
        ..., "--passwords", help="JSON {organisation: initial etcd password}; made (mode 0600) if absent."
    ),
    etcd_ca: Path | None = typer.Option(None, "--etcd-cacert", help="CA bundle of the etcd members (TLS)."),
    etcd_cert: Path | None = typer.Option(None, "--etcd-cert", help="The bootstrapper's etcd client certificate."),
    etcd_key: Path | None = typer.Option(None, "--etcd-key", help="The key of that certificate."),
) -> None:
    """Once, on a new etcd cluster: one etcd user and role per organisation (it writes only its own transactions,
    seals and evidence), a root user (password in CUSTOS_ETCD_ROOT_PASSWORD), then authentication on."""
    from ledger.consensus.access import AccessError, apply_access, initial_passwords
    from ledger.consensus.bundle import BundleError, addresses_of
    from ledger.consensus.etcd import EtcdClient, EtcdError
    from ledger.consensus.keyspace import Keyspace

    root_password = os.environ.get("CUSTOS_ETCD_ROOT_PASSWORD")
    if not root_password:
        raise _fail("give etcd's new root password in CUSTOS_ETCD_ROOT_PASSWORD")
    try:
        consortium = json.loads((directory / "consortium.json").read_text())
        addresses = addresses_of(consortium)
        chain_id = int(consortium["chainId"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(f"{directory} is not a consortium bundle: {exc}") from None
    except BundleError as exc:
        raise _fail(str(exc)) from None
    try:
        secrets = initial_passwords(passwords, list(addresses))
    except AccessError as exc:
        raise _fail(str(exc)) from None
    organisations = {n: (bytes.fromhex(a[2:]), secrets[n]) for n, a in addresses.items()}
    client = EtcdClient(_urls(etcd), _etcd_tls((etcd_ca, etcd_cert, etcd_key)))
    try:
        apply_access(client, Keyspace(chain_id), organisations, root_password)
    except EtcdError as exc:
        raise _fail(f"etcd refused the access rules (already applied?): {exc}") from None
    finally:
        client.close()
    typer.echo(f"etcd authentication on: users {', '.join(sorted(addresses))} and root")
    typer.echo(f"initial passwords in {passwords}: give each organisation its own; each changes it at once")


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
def status(
    rpc: str = typer.Option("http://127.0.0.1:8545", "--rpc", help="JSON-RPC endpoint(s), comma-separated."),
) -> None:
    """Single node: height, head, validators and a check of the head's seal. Consortium nodes: each node's
    head, finality, the head's seal count against the quorum, etcd health, evidence, and whether they agree."""
    from ledger.chain.status import StatusError, chain_status
    from ledger.consensus.status import cluster_status, is_consortium_node

    urls = [u.strip() for u in rpc.split(",") if u.strip()]
    try:
        if is_consortium_node(urls[0]):
            report = cluster_status(urls)
            typer.echo(json.dumps(report, indent=1))
            if not report["ok"]:
                raise typer.Exit(2)
            return
        info = chain_status(urls[0])
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

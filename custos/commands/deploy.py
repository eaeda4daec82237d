"""`custos deploy`: the consortium's six contracts on any EVM chain reached over JSON-RPC."""

from __future__ import annotations

from pathlib import Path

import typer


def deploy(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC endpoint of the target chain (e.g. anvil, Besu)."),
    consortium: Path = typer.Option(..., "--consortium", help="Consortium file; each organisation needs an address."),
    keystore: Path = typer.Option(..., "--keystore", help="Keystore folder holding the deployer key."),
    key: str = typer.Option("deployer", "--key", help="Name of the deployer key in the keystore."),
    out: Path = typer.Option(Path("deployment.json"), "--out", help="Where to write deployment.json."),
) -> None:
    """Deploy Consortium, CustosToken, DataRegistry, Settlement, JobLedger, AuditAnchor; write deployment.json."""
    from web3 import Web3

    from ledger.chain.genesis import GenesisError
    from ledger.chain.setup import external_config
    from ledger.deploy import deploy_consortium
    from ledger.errors import DeploymentError
    from ledger.keystore import DEV_PASSWORD, Keystore, KeystoreError, password_from_env

    try:
        config = external_config(consortium)
        deployer = Keystore(keystore).unlock(key, password_from_env(default=DEV_PASSWORD))
        w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 60}))
        if not w3.is_connected():
            raise DeploymentError(f"cannot reach {rpc}")
        deployment = deploy_consortium(w3, deployer, config)
    except (GenesisError, KeystoreError, DeploymentError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    out.write_text(deployment.to_json())
    typer.echo(f"deployed to chain {deployment.chain_id}; wrote {out}")

"""`custos gateway …`: run a member gateway, or talk to one with signed requests."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gateway.client import GatewayClient

app = typer.Typer(
    name="gateway", help="The member gateway: signed-request API and audit explorer.", no_args_is_help=True
)

KEYSTORE = typer.Option(
    ..., "--keystore", help="Key file (v3 JSON) of the member; password from CUSTOS_KEYSTORE_PASSWORD(_FILE)."
)
URL = typer.Option("http://127.0.0.1:8080", "--url", help="Base URL of the gateway.")
# On shutdown the progress streams end at once (gateway.app_server); other open requests get this
# long to finish, then the hosted runner is stopped (its steps get STOP_GRACE_SECONDS, compute.jobs.runner).
SHUTDOWN_GRACE_SECONDS = 5
# uvicorn's exit status when its server never started (a bad TLS file, say), as `uvicorn.run` exits.
STARTUP_FAILURE = 3


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _key(keystore: Path) -> bytes:
    from ledger.keystore import DEV_PASSWORD, Keystore, KeystoreError, password_from_env

    try:
        return bytes(Keystore(keystore.parent).unlock(keystore.stem, password_from_env(DEV_PASSWORD)).key)
    except KeystoreError as exc:
        raise _fail(str(exc)) from None


def _client(url: str, keystore: Path) -> GatewayClient:
    import httpx

    from gateway.client import GatewayClient

    try:
        return GatewayClient.connect(url, _key(keystore))
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the gateway at {url}: {exc}") from None


def _log_to_stderr() -> None:
    """Send the gateway's own log lines (logger `custos`: the hosted runner's steps, errors) to stderr."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("custos")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@app.command()
def up(
    keystore: Path = KEYSTORE,
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of a chain node."),
    chain: Path | None = typer.Option(None, "--chain", help="Embedded chain directory (from `custos chain init`)."),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment.json (default: the chain's)."),
    state: Path | None = typer.Option(None, "--state", help="Folder for the gateway's nonces and index."),
    workspace: Path | None = typer.Option(
        None,
        "--workspace",
        help="Job runner workspace: results are served from it and, with --runner, its runner runs in the gateway.",
    ),
    runner: bool = typer.Option(
        False, "--runner", help="Run the job runner of --workspace in the gateway (its party endpoint, live progress)."
    ),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="URL other organisations reach this gateway at, published on chain as the party endpoint "
        "(default: the --host/--port one; required when listening on every interface).",
    ),
    protocol_timeout: float = typer.Option(
        120.0, "--protocol-timeout", min=1.0, help="With --runner: seconds a party waits for a silent peer."
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(
        8080, "--port", min=0, max=65535, help="0: a free port the system picks (the first line printed names it)."
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="PEM certificate: serve HTTPS (Secure cookie, HSTS)."
    ),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
    behind_https_proxy: bool = typer.Option(
        False, "--behind-https-proxy", help="A TLS-terminating proxy on this host forwards to us: Secure cookie, HSTS."
    ),
    ip_rate: float = typer.Option(50.0, "--ip-rate", min=0.1, help="Requests/s per client IP (burst 4x)."),
    caller_rate: float = typer.Option(30.0, "--caller-rate", min=0.1, help="Signed requests/s per member (burst 4x)."),
    trusted_proxy: str = typer.Option(
        "127.0.0.1", "--trusted-proxy", help="Proxy IPs whose X-Forwarded-For names the client (rate limits per IP)."
    ),
) -> None:
    """Serve the gateway for the member whose key is in --keystore."""
    import gc
    import signal

    import uvicorn

    from gateway.app_server import GatewayServer
    from gateway.chain import ChainGatewayError, RunnerHosting, open_gateway
    from gateway.settings import RateLimits

    if (rpc is None) == (chain is None):
        raise _fail("give exactly one of --rpc URL or --chain DIR")
    if runner and workspace is None:
        raise _fail("--runner needs --workspace")
    if (tls_cert is None) != (tls_key is None):
        raise _fail("give both --tls-cert and --tls-key, or neither")
    for pem in (tls_cert, tls_key):
        if pem is not None and not pem.is_file():
            raise _fail(f"no such file: {pem}")
    https = tls_cert is not None or behind_https_proxy
    scheme = "https" if tls_cert is not None else "http"
    if runner and public_url is None and host in ("0.0.0.0", "::", ""):
        raise _fail(f"--host {host} listens on every interface: give the --public-url peers reach it at")
    if runner and public_url is not None and not public_url.startswith(("http://", "https://")):
        raise _fail(f"--public-url must be an http:// or https:// URL, not {public_url!r}")
    key = _key(keystore)
    # Bound before anything is published on chain: a taken port is a clear error here, and with --port 0
    # the port is known (for the default --public-url) without a probe another process could race.
    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    port = listener.getsockname()[1]
    hosting = RunnerHosting(public_url or f"{scheme}://{host}:{port}", protocol_timeout) if runner else None
    _log_to_stderr()
    try:
        app_, close = open_gateway(
            key,
            rpc=rpc,
            chain=chain,
            deployment=deployment,
            state=state,
            workspace=workspace,
            secure_cookie=https,
            runner=hosting,
            limits=RateLimits(
                ip_rate=ip_rate,
                ip_burst=int(4 * ip_rate) + 1,
                caller_rate=caller_rate,
                caller_burst=int(4 * caller_rate) + 1,
            ),
        )
    except ChainGatewayError as exc:
        listener.close()
        raise _fail(str(exc)) from None
    typer.echo(f"gateway on {scheme}://{host}:{port} (explorer: /explorer, API schema: /openapi.json)")
    if hosting is not None:
        typer.echo(f"job runner of {workspace} in the gateway; party endpoint {hosting.public_url}")
    config = uvicorn.Config(
        app_,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        proxy_headers=True,
        forwarded_allow_ips=trusted_proxy,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    server = GatewayServer(config, app_)
    # uvicorn catches SIGTERM while it serves, shuts down, then raises it again under the handler it found:
    # Python's default would kill the process there, before `close()` and with status -15. This one ends a
    # shutdown (or the wait before uvicorn's own handler is in place) and lets the process exit 0.
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        close()
        # Everything is closed: the interpreter's final garbage collection over the whole heap (seconds on a
        # loaded machine, with a protocol run's objects in it) would only delay the exit a supervisor waits for.
        gc.freeze()
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)


@app.command()
def call(
    method: str = typer.Argument(..., help="GET, POST, …"),
    path: str = typer.Argument(..., help="e.g. /audit/jobs"),
    body: str | None = typer.Option(None, "--json", help="JSON request body."),
    keystore: Path = KEYSTORE,
    url: str = URL,
) -> None:
    """Send one signed request to a (remote) gateway and print its JSON answer."""
    try:
        payload = json.loads(body) if body is not None else None
    except json.JSONDecodeError as exc:
        raise _fail(f"--json is not valid JSON: {exc}") from None
    import httpx

    try:
        with _client(url, keystore) as client:
            response = client.request(method.upper(), path, json=payload)
    except httpx.HTTPError as exc:
        raise _fail(f"no answer from {url}: {type(exc).__name__} {exc}") from None
    try:
        typer.echo(json.dumps(response.json(), indent=2))
    except ValueError:
        typer.echo(response.text)
    if response.is_error:
        raise typer.Exit(1)


@app.command("explorer-login")
def explorer_login(keystore: Path = KEYSTORE, url: str = URL) -> None:
    """Print a one-time link that signs a browser into the audit explorer (valid two minutes)."""
    import httpx

    try:
        with _client(url, keystore) as client:
            response = client.post("/sessions")
    except httpx.HTTPError as exc:
        raise _fail(f"no answer from {url}: {type(exc).__name__} {exc}") from None
    if response.is_error:
        raise _fail(response.json().get("message", response.text))
    typer.echo(url.rstrip("/") + response.json()["login_path"])

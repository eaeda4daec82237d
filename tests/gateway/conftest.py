"""Gateway fixtures: a real gateway under uvicorn on loopback over a real chain (anvil), real keys,
the real Consortium contract for membership, and a settable clock for freshness."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from eth_account import Account
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright

from gateway.auth import RequestDomain
from gateway.chain import open_gateway
from gateway.client import GatewayClient
from gateway.services import GatewayServices
from tests.backends import anvil, throwaway_accounts
from tests.ledger.audit.sealed import SealedJob, run_job
from tests.waiting import wait_for

from .scenario import Consortium, deploy, finished_job

OUTSIDER_KEY = Account.create().key
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine's closed
# network refuses it; --no-sandbox because the tests run as root.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("CUSTOS_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


class FakeClock:
    """A clock the test sets: freshness and cache expiry without sleeping."""

    def __init__(self) -> None:
        self.value = float(int(time.time()))

    def now(self) -> float:
        return self.value


@dataclass
class LoopbackServer:
    """A uvicorn server in a background thread on 127.0.0.1."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI) -> LoopbackServer:
    """Start `app` on a free loopback port and wait until it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 60, "the gateway to start", poll=0.01)
    return LoopbackServer(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)


@pytest.fixture(scope="session")
def consortium() -> Iterator[Consortium]:
    """A real anvil node with the consortium deployed and one finished job."""
    accounts = throwaway_accounts(6)
    people = dict(zip(("bank", "card", "hospital", "arbiter", "regulator"), accounts[1:6]))
    with anvil(accounts) as w3:
        deployment = deploy(w3, accounts[0], people)
        job_id = finished_job(w3, deployment, people)
        yield Consortium(w3, deployment, people, job_id)


@dataclass
class Gateway:
    """The Bank's gateway over the real chain, and what a test needs to talk to it."""

    url: str
    services: GatewayServices
    clock: FakeClock
    consortium: Consortium
    domain: RequestDomain

    def key(self, who: str) -> bytes:
        """The private key of one of the consortium's people, or of a non-member ('outsider')."""
        return OUTSIDER_KEY if who == "outsider" else bytes(self.consortium.people[who].key)

    def address(self, who: str) -> str:
        return Account.from_key(self.key(who)).address

    def client(self, who: str, domain: RequestDomain | None = None) -> GatewayClient:
        """A client signing as `who`, on the gateway's (fake) clock."""
        client = GatewayClient(self.url, self.key(who), domain or self.domain)
        client.auth._now = self.clock.now  # type: ignore[union-attr]  # the client's auth is our Eip712Auth; the test drives its clock
        return client


@contextmanager
def running_gateway(consortium: Consortium, folder: Path, **options: Any) -> Iterator[Gateway]:
    """The Bank's gateway over the consortium's chain, state in `folder`, served on loopback."""
    (folder / "deployment.json").write_text(consortium.deployment.to_json())
    clock = FakeClock()
    rpc = consortium.w3.provider.endpoint_uri  # type: ignore[attr-defined]  # an HTTPProvider in this fixture
    options.setdefault("workspace", folder / "workspace")
    app, close = open_gateway(
        bytes(consortium.people["bank"].key), rpc=rpc, deployment=folder / "deployment.json", clock=clock, **options
    )
    server = serve(app)
    services: GatewayServices = app.state.services
    try:
        yield Gateway(server.url, services, clock, consortium, services.domain)
    finally:
        server.stop()
        close()


@pytest.fixture(scope="module")
def gateway(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(consortium, tmp_path_factory.mktemp("gateway")) as running:
        yield running


@dataclass
class SealedGateway:
    """The bank's gateway over a sealed embedded chain with one finalised job (evidence bundles need seals)."""

    url: str
    job: SealedJob
    clock: FakeClock
    domain: RequestDomain

    def client(self, who: str) -> GatewayClient:
        """A client signing as `who` (bank, hospital, or bureau: the consortium's auditor), on the gateway's clock."""
        client = GatewayClient(self.url, bytes(self.job.accounts[who].key), self.domain)
        client.auth._now = self.clock.now  # type: ignore[union-attr]  # as in Gateway.client
        return client


@pytest.fixture(scope="session")
def sealed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealedGateway]:
    """`custos chain init`'s dev consortium, a two-source job run to Finalized in-process, then the bank's
    gateway on that chain directory (its node sealing as the chain's validator)."""
    job = run_job(tmp_path_factory.mktemp("sealed") / "chain")
    clock = FakeClock()
    app, close = open_gateway(bytes(job.accounts["bank"].key), chain=job.chain, clock=clock)
    server = serve(app)
    try:
        yield SealedGateway(server.url, job, clock, app.state.services.domain)
    finally:
        server.stop()
        close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never a downloaded browser); per module, since
    Playwright's sync API holds an event loop that asyncio tests elsewhere must not find running."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


def signed_in(gateway: Gateway | SealedGateway, browser: Browser, who: str = "regulator", width: int = 1280) -> Page:
    """A fresh browser page signed into the explorer as `who` through a one-time link."""
    login = gateway.client(who).post("/sessions").json()["login_path"]
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(gateway.url + login)
    return page


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Keep a screenshot (the full page, or the viewport) as a test artifact (test-artifacts/, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 5_000, f"{name} looks empty"
    return path


def refused(response: httpx.Response, status: int, code: str) -> str:
    """Assert a JSON error with this status and code, and no trace; return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert "Traceback" not in response.text
    return body["message"]

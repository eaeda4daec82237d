"""Gateway fixtures: a real gateway under uvicorn on loopback, real keys, a settable clock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from eth_account import Account
from fastapi import FastAPI

from gateway.app import build_services, create_app
from gateway.chain import open_gateway
from gateway.auth import RequestDomain
from gateway.client import GatewayClient
from gateway.membership import Member, Role
from gateway.services import GatewayServices
from gateway.settings import Settings
from tests.backends import anvil, throwaway_accounts

from .scenario import Consortium, deploy, finished_job

CHAIN_ID = 31337
CONSORTIUM = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


class FakeClock:
    """A clock the test sets: freshness without sleeping."""

    def __init__(self) -> None:
        self.value = float(int(time.time()))

    def now(self) -> float:
        return self.value


class TableMembership:
    """Members from a table; stands in for the Consortium binding until its artifact lands."""

    def __init__(self) -> None:
        self.table: dict[str, Member] = {}

    def add(self, address: str, roles: Role, name: str) -> None:
        self.table[address] = Member(address, roles, name)

    def member(self, address: str) -> Member | None:
        return self.table.get(address)


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
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "gateway did not start"
    return LoopbackServer(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)


@dataclass
class Gateway:
    """A running gateway and what a test needs to talk to it."""

    url: str
    services: GatewayServices
    clock: FakeClock
    members: TableMembership
    domain: RequestDomain

    def client(self, key: bytes, domain: RequestDomain | None = None) -> GatewayClient:
        """A signed client for `key`, on the gateway's (fake) clock."""
        client = GatewayClient(self.url, key, domain or self.domain)
        client.auth._now = self.clock.now  # type: ignore[union-attr]
        return client


@dataclass(frozen=True)
class Keys:
    """Real secp256k1 keys of the test's actors."""

    requester: bytes
    auditor: bytes
    outsider: bytes

    @staticmethod
    def address(key: bytes) -> str:
        return Account.from_key(key).address


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(*(Account.create().key for _ in range(3)))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[Gateway]:
    state: Path = tmp_path_factory.mktemp("gateway")
    settings = Settings(chain_id=CHAIN_ID, consortium=CONSORTIUM, state_dir=state, membership_ttl_seconds=0)
    clock, members = FakeClock(), TableMembership()
    members.add(Keys.address(keys.requester), Role.REQUESTER | Role.PROVIDER, "Bank A")
    members.add(Keys.address(keys.auditor), Role.AUDITOR, "Regulator")
    services = build_services(settings, members, clock)
    server = serve(create_app(services))
    yield Gateway(server.url, services, clock, members, RequestDomain(CHAIN_ID, CONSORTIUM))
    server.stop()
    services.nonces.close()


@pytest.fixture(scope="session")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    """A real anvil node with the consortium deployed and one finished job."""
    accounts = throwaway_accounts(6)
    people = dict(zip(("bank", "card", "hospital", "arbiter", "regulator"), accounts[1:6]))
    with anvil(accounts) as w3:
        deployment = deploy(w3, accounts[0], people)
        job_id = finished_job(w3, deployment, people)
        yield Consortium(w3, deployment, people, job_id)


@dataclass
class LedgerGateway:
    """A gateway over the real chain: Consortium membership, audit index, verification."""

    url: str
    services: GatewayServices
    clock: FakeClock
    consortium: Consortium
    domain: RequestDomain

    def client(self, who: str) -> GatewayClient:
        """A signed client for one of the consortium's people (or 'outsider')."""
        key = Account.create().key if who == "outsider" else self.consortium.people[who].key
        client = GatewayClient(self.url, key, self.domain)
        client.auth._now = self.clock.now  # type: ignore[union-attr]
        return client


@pytest.fixture(scope="module")
def ledger_gateway(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerGateway]:
    folder = tmp_path_factory.mktemp("ledger-gateway")
    (folder / "deployment.json").write_text(consortium.deployment.to_json())
    clock = FakeClock()
    rpc = consortium.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    app, close = open_gateway(consortium.people["bank"].key, rpc=rpc, deployment=folder / "deployment.json",
                              clock=clock)
    server = serve(app)
    services: GatewayServices = app.state.services
    domain = RequestDomain(services.settings.chain_id, services.settings.consortium)
    yield LedgerGateway(server.url, services, clock, consortium, domain)
    server.stop()
    close()

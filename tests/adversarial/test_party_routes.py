"""The routes a runner serves to peers (identity, parameter documents) under a hostile peer: a
digest too long to be a file name, not hex, or unknown is a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak
from fastapi import FastAPI

from compute.jobs.peers import PARAMS_PATH, party_router
from compute.jobs.runner import JobRunner
from compute.party import PartyIdentity
from compute.result import canonical_json
from gateway.errors import install_error_handlers
from tests.gateway.conftest import serve

DOCUMENT = {"protocol": "psi", "sources": [0, 1]}


@pytest.fixture(scope="module")
def party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A party's routes on loopback, reading documents the way the job runner does, from a workspace
    folder holding one parameter document; (base URL, the document's digest)."""
    folder = tmp_path_factory.mktemp("party")
    (folder / "params").mkdir()
    raw = canonical_json(DOCUMENT)
    digest = keccak(raw).hex()
    (folder / "params" / f"{digest}.json").write_bytes(raw)
    runner = cast(Any, SimpleNamespace(workspace=SimpleNamespace(folder=folder)))
    identity = PartyIdentity(Account.create().address, b"\x01" * 32, b"")
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(party_router(identity, set, lambda key: JobRunner._params_document(runner, key)))
    server = serve(app)
    try:
        yield server.url, digest
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("digest", "status"),
    [
        ("ab" * 200, 404),  # 400 hex digits: a file name longer than the file system allows
        ("0x" + "ab" * 31, 404),  # 31 bytes
        ("zz" * 32, 400),
        ("00" * 32, 404),
    ],
    ids=["name-too-long", "short", "not-hex", "unknown"],
)
def test_a_hostile_peer_asking_for_a_parameter_document_gets_a_4xx(
    party: tuple[str, str], digest: str, status: int
) -> None:
    url, _ = party
    response = httpx.get(f"{url}{PARAMS_PATH}/{digest}", timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["code"] != "internal"


def test_a_peer_asking_for_the_document_it_needs_gets_its_exact_bytes(party: tuple[str, str]) -> None:
    url, digest = party
    response = httpx.get(f"{url}{PARAMS_PATH}/0x{digest}", timeout=30)
    assert response.status_code == 200
    assert response.content == canonical_json(DOCUMENT)

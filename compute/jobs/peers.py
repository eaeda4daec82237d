"""How runners find each other: endpoints and transport keys on chain, certificates over HTTP.

Each member publishes its X25519 transport key and its endpoint URL with
`Consortium.setEndpoint` (a transaction from its own account, so the chain vouches for
the pair). The endpoint serves the party's certified identity and the jobs it is ready
for; a peer accepts the identity only if its key is the one on chain and its
certificate verifies. Job parameter documents are served by whoever holds them, and a
reader accepts one only if it hashes to the job's on-chain parameter hash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from eth_utils import keccak
from fastapi import APIRouter, HTTPException, Response

from compute.errors import InvalidInput, PartyUnreachable
from compute.party import Address, PartyIdentity

IDENTITY_PATH = "/custos/v1/identity"
PARAMS_PATH = "/custos/v1/params"


def party_router(
    identity: PartyIdentity, ready_jobs: Callable[[], set[int]], params: Callable[[bytes], bytes | None]
) -> APIRouter:
    """Routes a runner serves beside its message endpoint: identity + readiness, parameter documents."""
    api = APIRouter(tags=["party"])

    @api.get(IDENTITY_PATH)
    def who() -> dict[str, Any]:
        return {**identity.to_json(), "ready_jobs": sorted(ready_jobs())}

    @api.get(PARAMS_PATH + "/{digest}")
    def document(digest: str) -> Response:
        try:
            key = bytes.fromhex(digest.removeprefix("0x"))
        except ValueError:
            raise HTTPException(400, "digest is not hex") from None
        if len(key) != 32:  # it names a file: a longer one is an OSError (name too long), not a miss
            raise HTTPException(404, f"no parameter document {digest[:80]} here: a digest is 32 bytes (keccak256)")
        raw = params(key)
        if raw is None:
            raise HTTPException(404, f"no parameter document {digest} here")
        return Response(raw, media_type="application/json")

    return api


class PeerDirectory:
    """Resolves member addresses to verified identities and endpoint URLs."""

    def __init__(self, lookup: Callable[[Address], tuple[bytes, str]], timeout: float = 10.0) -> None:
        self._lookup = lookup  # address -> (transport key, endpoint) as published on chain
        self._client = httpx.Client(timeout=timeout)
        self._known: dict[Address, tuple[PartyIdentity, str]] = {}

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def _fetch(self, address: Address) -> dict[str, Any]:
        key, endpoint = self._lookup(address)
        if not endpoint:
            raise PartyUnreachable(address, "discovery", "has published no endpoint on chain")
        try:
            reply = self._client.get(endpoint.rstrip("/") + IDENTITY_PATH)
            reply.raise_for_status()
            body: dict[str, Any] = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PartyUnreachable(address, "discovery", f"endpoint {endpoint} did not answer: {exc}") from None
        identity = PartyIdentity.from_json({k: body[k] for k in ("address", "transport_key", "certificate")})
        identity.verify()
        if identity.address != address or identity.transport_key != key:
            raise InvalidInput(f"{endpoint} serves an identity that is not {address}'s key on chain")
        self._known[address] = (identity, endpoint)
        return body

    def identity(self, address: Address) -> tuple[PartyIdentity, str]:
        """The verified identity and endpoint of `address`."""
        if address not in self._known:
            self._fetch(address)
        return self._known[address]

    def wait_ready(self, addresses: list[Address], job_id: int, timeout: float) -> None:
        """Block until every address says it is ready for `job_id`; PartyUnreachable naming who is not."""
        deadline = time.monotonic() + timeout
        waiting = list(addresses)
        while waiting:
            try:
                waiting = [a for a in waiting if job_id not in self._fetch(a)["ready_jobs"]]
            except PartyUnreachable:
                if time.monotonic() > deadline:
                    raise
            if waiting and time.monotonic() > deadline:
                raise PartyUnreachable(waiting[0], "ready", f"not ready for job {job_id} after {timeout:.0f} s")
            if waiting:
                time.sleep(0.2)

    def params(self, holder: Address, digest: bytes, timeout: float = 0.0) -> dict[str, Any]:
        """Fetch the parameter document `digest` from `holder`, checking its hash.

        An unreachable holder is asked again (at the endpoint it publishes then: it may be
        restarting on another port) until `timeout` seconds pass; then PartyUnreachable.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._params_once(holder, digest)
            except PartyUnreachable:
                self._known.pop(holder, None)
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def _params_once(self, holder: Address, digest: bytes) -> dict[str, Any]:
        _, endpoint = self.identity(holder)
        try:
            reply = self._client.get(f"{endpoint.rstrip('/')}{PARAMS_PATH}/{digest.hex()}")
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise PartyUnreachable(holder, "params", f"could not fetch parameters: {exc}") from None
        if keccak(reply.content) != digest:
            raise InvalidInput(f"{holder} served a parameter document that does not match the job's hash")
        document: dict[str, Any] = json.loads(reply.content)
        return document

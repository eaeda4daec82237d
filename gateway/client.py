"""A Python client for a member gateway: every request is signed for you.

>>> client = GatewayClient.connect("http://127.0.0.1:8080", private_key)   # doctest: +SKIP
>>> client.get("/members/me").json()["roles"]                              # doctest: +SKIP
['REQUESTER', 'PROVIDER']
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Generator, Iterator

import httpx

from gateway.auth import RequestDomain, sign_request


class Eip712Auth(httpx.Auth):
    """httpx auth that signs each request (method, raw target, body) with a member's key."""

    requires_request_body = True

    def __init__(self, private_key: bytes | str, domain: RequestDomain, now: Callable[[], float] = time.time) -> None:
        self._key, self._domain, self._now = private_key, domain, now

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the four X-Custos-* headers over the request as it will be sent."""
        signed = sign_request(
            self._key,
            self._domain,
            request.method,
            request.url.raw_path.decode("latin-1"),
            request.content,
            int(self._now()),
            secrets.token_bytes(32),
        )
        request.headers.update(signed.as_headers())
        yield request


class GatewayClient(httpx.Client):
    """An httpx client whose every request is signed as the given member key."""

    def __init__(self, base_url: str, private_key: bytes | str, domain: RequestDomain, **kwargs: object) -> None:
        kwargs.setdefault("timeout", 30.0)
        super().__init__(base_url=base_url, auth=Eip712Auth(private_key, domain), **kwargs)  # type: ignore[arg-type]  # httpx's **kwargs are typed per parameter; ours pass through unchanged

    @classmethod
    def connect(cls, base_url: str, private_key: bytes | str, **kwargs: object) -> GatewayClient:
        """A client for the gateway at `base_url`, reading its signing domain from GET /domain."""
        verify = kwargs.get("verify", True)  # a TLS gateway's certificate (or CA bundle) for both requests
        info = httpx.get(base_url.rstrip("/") + "/domain", timeout=10.0, verify=verify).raise_for_status().json()  # type: ignore[arg-type]  # httpx types verify as a bool, an SSL context or a path
        return cls(
            base_url, private_key, RequestDomain(info["chain_id"], info["consortium"], info["gateway"]), **kwargs
        )

    def progress(self, job_id: int) -> Iterator[dict[str, object]]:
        """The job's progress events (server-sent), until it finishes or fails."""
        with self.stream("GET", f"/jobs/{job_id}/progress", timeout=None) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[len("data: ") :])

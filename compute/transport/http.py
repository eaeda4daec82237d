"""HTTP transport: POST each envelope to the receiver's `MessageEndpoint`."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from compute.errors import PartyUnreachable
from compute.party import Address

MESSAGES_PATH = "/custos/v1/messages"


class HttpTransport:
    """Delivers over HTTP to `endpoints[receiver]` (a base URL such as http://127.0.0.1:8701)."""

    def __init__(
        self, endpoints: Mapping[Address, str], timeout: float = 30.0, client: httpx.Client | None = None
    ) -> None:
        self._endpoints = dict(endpoints)
        self._client = client or httpx.Client(timeout=timeout)

    def deliver(self, receiver: Address, envelope: bytes) -> None:
        """POST `envelope`; PartyUnreachable on a network error or a refusal."""
        base = self._endpoints.get(receiver)
        if base is None:
            raise PartyUnreachable(receiver, "deliver", "no endpoint known for this party")
        try:
            response = self._client.post(
                base.rstrip("/") + MESSAGES_PATH, content=envelope, headers={"content-type": "application/octet-stream"}
            )
        except httpx.HTTPError as exc:
            raise PartyUnreachable(receiver, "deliver", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 202:
            raise PartyUnreachable(
                receiver, "deliver", f"endpoint answered {response.status_code}: {response.text[:200]}"
            )

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

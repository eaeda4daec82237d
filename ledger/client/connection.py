"""Connecting to a chain: the embedded node (in-process provider or URL) or any EVM JSON-RPC URL.

The one seam is a web3 provider (web3.py's one-method `make_request` interface): an HTTP
URL becomes an `HTTPProvider`, an in-process provider object is used as given. Either
way the connection is checked (chain id answered, and equal to the one expected) before
it is handed out, so a wrong URL fails here with `ConnectionFailed` and not later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from web3 import Web3
from web3.exceptions import ProviderConnectionError, Web3RPCError
from web3.providers.base import BaseProvider

from ledger.errors import ConnectionFailed

T = TypeVar("T")

# Errors of the transport itself: the request may not have reached the node, so retrying is safe
# for reads, and for sends of the same signed bytes (the node answers "already known").
TRANSIENT = (requests.ConnectionError, requests.Timeout, ProviderConnectionError, ConnectionError, TimeoutError)


def connect(target: str | BaseProvider | Web3, *, chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """A checked Web3 for an `http(s)://` URL, a provider object, or an existing Web3."""
    if isinstance(target, Web3):
        w3 = target
    elif isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ConnectionFailed(f"not a JSON-RPC URL: {target!r} (expected http:// or https://)")
        # Retries are the sender's job (it knows which calls are safe to repeat); none here.
        provider = Web3.HTTPProvider(target, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        w3 = Web3(provider)
    else:
        w3 = Web3(target)
    actual = rpc(lambda: w3.eth.chain_id, what=f"reach the node at {_describe(target)}", attempts=1)
    if chain_id is not None and actual != chain_id:
        raise ConnectionFailed(f"{_describe(target)} serves chain {actual}, expected chain {chain_id}")
    return w3


def rpc(call: Callable[[], T], *, what: str, attempts: int = 4, backoff: float = 0.05) -> T:
    """Run a read-only RPC `call`, retrying transient transport errors; `ConnectionFailed` at the end."""

    for attempt in range(attempts):
        try:
            return call()
        except TRANSIENT as exc:
            if attempt == attempts - 1:
                raise ConnectionFailed(f"could not {what}: {exc}") from exc
            time.sleep(backoff * 2**attempt)
        except Web3RPCError as exc:
            raise ConnectionFailed(f"could not {what}: {exc}") from exc
    raise AssertionError("unreachable")


def _describe(target: Any) -> str:
    if isinstance(target, str):
        return target
    if isinstance(target, Web3):
        return type(target.provider).__name__
    return type(target).__name__

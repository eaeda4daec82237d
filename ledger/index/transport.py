"""The indexer's JSON-RPC transport: the same requests as web3's provider, parsed with orjson.

An eth_getLogs answer holds up to 10,000 logs; web3's provider parses it with the standard
library (and its own checks), which cost the indexer as much as writing the events did. For
an HTTP endpoint this posts the request on its own keep-alive session, with the provider's
URL, headers and timeout, and parses the answer with orjson; for the in-process node it
hands the bytes to the node directly; any other provider is asked through `make_request`.
orjson reads a JSON integer past 64 bits as a float: JSON-RPC carries every quantity as a hex
string, never as a JSON number, so the answers read here lose nothing (event arguments are
stored with `ledger.index.store.args_json`, which never goes through orjson's parser).
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import requests
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger.errors import IndexerError


class RawRPC:
    """JSON-RPC calls on `w3`'s endpoint, answers parsed with orjson (errors raise `IndexerError`)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._ids = itertools.count(1)
        provider = w3.provider
        self._session: requests.Session | None = None
        self._handle: Any = None
        if isinstance(provider, HTTPProvider):
            self._session = requests.Session()
            self._url = str(provider.endpoint_uri)
            self._kwargs = provider.get_request_kwargs()
        elif callable(getattr(getattr(provider, "rpc", None), "handle_bytes", None)):
            self._handle = provider.rpc.handle_bytes  # type: ignore[attr-defined]  # the embedded node's NodeProvider

    def close(self) -> None:
        """Close the HTTP session, if any."""
        if self._session is not None:
            self._session.close()

    def call(self, method: str, params: list[Any], what: str) -> Any:
        """The result of one request; `IndexerError` naming `what` on an error answer."""
        if self._session is None and self._handle is None:
            answer: Any = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]  # web3 types method names as its own enum
        else:
            answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        if not isinstance(answer, dict) or "error" in answer:
            raise IndexerError(f"could not {what}: {_message(answer)}")
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]], what: str) -> list[Any]:
        """The results of a batch, in the order of `calls`."""
        if self._session is None and self._handle is None:
            answers: Any = self.w3.provider.make_batch_request(calls)  # type: ignore[attr-defined]  # on the HTTP and embedded providers
        else:
            first = next(self._ids)
            self._ids = itertools.count(first + len(calls))
            payload = [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": params}
                for i, (method, params) in enumerate(calls)
            ]
            answers = self._post(payload)
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise IndexerError(f"could not {what}: {_message(answers)}")
        failed = next((a for a in answers if not isinstance(a, dict) or "error" in a), None)
        if failed is not None:
            raise IndexerError(f"could not {what}: {_message(failed)}")
        return [a["result"] for a in sorted(answers, key=lambda a: a.get("id") or 0)]

    def _post(self, payload: Any) -> Any:
        body = orjson.dumps(payload)
        if self._handle is not None:
            raw = self._handle(body)
        else:
            assert self._session is not None  # one of the two is set (see __init__)
            # Streamed, then read whole: `.content` reads the body in 10 KB pieces, which took twice as
            # long (wall) for a 6 MB eth_getLogs answer from the embedded node over loopback.
            response = self._session.post(self._url, data=body, stream=True, **self._kwargs)
            try:
                if response.status_code != 200:
                    raise IndexerError(f"the node answered HTTP {response.status_code}: {response.text[:200]}")
                raw = response.raw.read(decode_content=True)
            finally:
                response.close()
        try:
            return orjson.loads(raw or b"null")
        except orjson.JSONDecodeError as exc:
            raise IndexerError(f"the node answered with malformed JSON: {exc}") from exc


def _message(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("message"))
    return f"unexpected answer {str(answer)[:200]}"

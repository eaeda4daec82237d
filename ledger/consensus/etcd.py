"""A small etcd v3 client over its JSON gateway (httpx): range, put, compare-and-create txns, leases, watch.

Only what the consortium protocol needs. Keys and values travel base64-encoded, as the
gateway requires; every call goes to the first endpoint that answers, so a node keeps
working while a minority of the cluster's members is down. TLS with a client certificate
(etcd's `--client-cert-auth`) is configured by `EtcdTLS`.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

# A request to one member gives up after this; the next member is tried.
REQUEST_TIMEOUT = 3.0
# A reachable member's kernel accepts a connection within a round trip however busy etcd is (the
# TLS handshake adds a few ms of etcd's CPU); this long also covers one lost SYN, resent after 1 s.
# A member that has not connected by then is down or cut off: the next one is tried. With the whole
# REQUEST_TIMEOUT per member, a node cut off from every other member spent 12 s per call, and after
# a heal waited out a connect attempt begun before it.
CONNECT_TIMEOUT = 1.5


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


class EtcdError(Exception):
    """No etcd member answered, or one answered with an error."""


@dataclass(frozen=True)
class EtcdTLS:
    """Client TLS: the CA bundle that signs the members' certificates, and this organisation's cert and key."""

    ca_file: str
    cert_file: str
    key_file: str

    def context(self) -> ssl.SSLContext:
        """An SSL context that verifies the members and presents our certificate."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


@dataclass(frozen=True)
class KeyValue:
    """One etcd key with its value and revisions."""

    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int = 0


@dataclass(frozen=True)
class Compare:
    """A txn condition: `absent` (create_revision == 0), `present` (create_revision > 0) or `value == expected`."""

    key: bytes
    value: bytes | None = None
    exists: bool = False

    def to_json(self) -> dict[str, Any]:
        """The gateway's Compare object."""
        if self.exists:
            return {"key": _b64(self.key), "target": "CREATE", "result": "GREATER", "create_revision": "0"}
        if self.value is None:
            return {"key": _b64(self.key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        return {"key": _b64(self.key), "target": "VALUE", "result": "EQUAL", "value": _b64(self.value)}


def absent(key: bytes) -> Compare:
    """The condition "`key` does not exist" (compare-and-create)."""
    return Compare(key)


def present(key: bytes) -> Compare:
    """The condition "`key` exists"."""
    return Compare(key, exists=True)


def put_op(key: bytes, value: bytes, lease: int = 0) -> dict[str, Any]:
    """A txn put operation."""
    body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease:
        body["lease"] = str(lease)
    return {"request_put": body}


def delete_op(key: bytes, range_end: bytes = b"") -> dict[str, Any]:
    """A txn delete operation for one key, or for every key in [key, range_end)."""
    body = {"key": _b64(key)}
    if range_end:
        body["range_end"] = _b64(range_end)
    return {"request_delete_range": body}


def prefix_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with `prefix`."""
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\x00"
    end[-1] += 1
    return bytes(end)


class EtcdClient:
    """Calls etcd's v3 JSON gateway on a list of member URLs."""

    def __init__(
        self, endpoints: list[str], tls: EtcdTLS | None = None, credentials: tuple[str, str] | None = None
    ) -> None:
        if not endpoints:
            raise EtcdError("no etcd endpoint given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        verify: ssl.SSLContext | bool = tls.context() if tls is not None else True
        self._http = httpx.Client(timeout=_timeout(REQUEST_TIMEOUT), verify=verify)
        self._tls = tls
        self._preferred = 0
        # etcd user and password: the JSON gateway ignores a client certificate's CN, so an
        # organisation's etcd user authenticates with a password for a (renewed) token.
        self._credentials = credentials
        self._token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _headers(self) -> dict[str, str]:
        if self._credentials is None:
            return {}
        if self._token is None:
            self._token = self._authenticate(*self._credentials)
        return {"Authorization": self._token}

    def _authenticate(self, name: str, password: str) -> str:
        errors = []
        for endpoint in self.endpoints:
            try:
                reply = self._http.post(endpoint + "/v3/auth/authenticate", json={"name": name, "password": password})
            except httpx.HTTPError as exc:
                errors.append(f"{endpoint}: {type(exc).__name__}")
                continue
            if reply.status_code == 200:
                return str(reply.json()["token"])
            errors.append(f"{endpoint}: HTTP {reply.status_code} {reply.text[:200]}")
        raise EtcdError(f"etcd refused user {name!r}: {'; '.join(errors)}")

    def _post(
        self, path: str, body: dict[str, Any], timeout: float = REQUEST_TIMEOUT, settle: bool = True
    ) -> dict[str, Any]:
        """POST to the preferred member, then the others; `settle`: the member that answered becomes preferred."""
        errors = []
        order = self.endpoints[self._preferred :] + self.endpoints[: self._preferred]
        for endpoint in order:
            try:
                reply = self._http.post(endpoint + path, json=body, timeout=_timeout(timeout), headers=self._headers())
                if reply.status_code == 401 and self._credentials is not None:
                    self._token = None  # expired token: authenticate again once
                    reply = self._http.post(
                        endpoint + path, json=body, timeout=_timeout(timeout), headers=self._headers()
                    )
            except httpx.HTTPError as exc:
                errors.append(f"{endpoint}: {type(exc).__name__}")
                continue
            if reply.status_code != 200:
                errors.append(f"{endpoint}: HTTP {reply.status_code} {reply.text[:200]}")
                if reply.status_code == 403:
                    break  # permission denied is the cluster's answer, not one member's failure
                continue
            if settle:
                self._preferred = self.endpoints.index(endpoint)
            data: dict[str, Any] = reply.json()
            return data
        raise EtcdError(f"etcd {path} failed on every member: {'; '.join(errors)}")

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Any other gateway endpoint (e.g. `/v3/auth/role/add`); raises EtcdError."""
        return self._post(path, body)

    # -- key/value --
    def range_prefix(self, prefix: bytes) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, sorted by key, and the store revision it was read at."""
        reply = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return [_kv(k) for k in reply.get("kvs", [])], int(reply["header"]["revision"])

    def get(self, key: bytes) -> KeyValue | None:
        """One key, or None."""
        reply = self._post("/v3/kv/range", {"key": _b64(key)})
        kvs = reply.get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        """Write `key`; returns the new revision."""
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self._post("/v3/kv/put", body)["header"]["revision"])

    def txn(
        self, compare: list[Compare], success: list[dict[str, Any]], failure: list[dict[str, Any]] | None = None
    ) -> bool:
        """Run a transaction; True when every comparison held (and `success` was applied)."""
        body = {"compare": [c.to_json() for c in compare], "success": success, "failure": failure or []}
        return bool(self._post("/v3/kv/txn", body).get("succeeded", False))

    def create(self, key: bytes, value: bytes, guards: list[Compare] | None = None, lease: int = 0) -> bool:
        """Compare-and-create: write `key` only if it does not exist and every guard holds."""
        return self.txn([absent(key), *(guards or [])], [put_op(key, value, lease)])

    def delete(self, key: bytes) -> None:
        """Delete one key (no error if absent)."""
        self._post("/v3/kv/deleterange", {"key": _b64(key)})

    # -- leases --
    def grant(self, ttl: int) -> int:
        """A new lease of `ttl` seconds; returns its id."""
        return int(self._post("/v3/lease/grant", {"TTL": str(ttl)})["ID"])

    def keepalive(self, lease: int, timeout: float = REQUEST_TIMEOUT) -> int:
        """Refresh a lease; returns its remaining TTL (0 or less: it has expired).

        A renewal that a member was too slow for (its `timeout` is short: the lease must not lapse)
        does not move the client's preferred member, where the node follows etcd and writes.
        """
        reply = self._post("/v3/lease/keepalive", {"ID": str(lease)}, timeout, settle=False)
        return int(reply.get("result", {}).get("TTL", 0))

    def revoke(self, lease: int) -> None:
        """Revoke a lease and delete its keys."""
        self._post("/v3/lease/revoke", {"ID": str(lease)})

    # -- cluster --
    def health(self, timeout: float = 2.0) -> dict[str, bool]:
        """Each endpoint's /health answer (False when unreachable or unhealthy)."""
        out = {}
        for endpoint in self.endpoints:
            try:
                reply = self._http.get(endpoint + "/health", timeout=_timeout(timeout))
                out[endpoint] = reply.status_code == 200 and reply.json().get("health") == "true"
            except (httpx.HTTPError, ValueError):
                out[endpoint] = False
        return out

    def watch(self, prefix: bytes, start_revision: int, timeout: float) -> Iterator[tuple[str, KeyValue]]:
        """Events under `prefix` from `start_revision` on, as ("PUT"|"DELETE", kv), until `timeout` or an error.

        Raises EtcdError when the stream cannot be opened or breaks, and when etcd has
        compacted `start_revision` away (the caller then re-reads the range).
        """
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start_revision),
            }
        }
        endpoint = self.endpoints[self._preferred]
        try:
            with self._http.stream(
                "POST",
                endpoint + "/v3/watch",
                json=body,
                timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT, read=timeout),
                headers=self._headers(),
            ) as reply:
                if reply.status_code != 200:
                    raise EtcdError(f"watch on {endpoint}: HTTP {reply.status_code}")
                for line in reply.iter_lines():
                    if not line.strip():
                        continue
                    result = json.loads(line).get("result", {})
                    if result.get("compact_revision") not in (None, "0"):
                        raise EtcdError(f"watch start {start_revision} was compacted")
                    if result.get("canceled"):
                        raise EtcdError(f"watch cancelled: {result.get('cancel_reason', '')}")
                    for event in result.get("events", []):
                        yield event.get("type", "PUT"), _kv(event["kv"])
        except httpx.ReadTimeout:
            return
        except (httpx.HTTPError, ValueError) as exc:
            self._preferred = (self._preferred + 1) % len(self.endpoints)
            raise EtcdError(f"watch on {endpoint} broke: {type(exc).__name__}") from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(raw["key"]),
        value=base64.b64decode(raw.get("value", "")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
        lease=int(raw.get("lease", 0)),
    )

"""The gateway against the open network: body limits before buffering, bounded JSON, security
headers, rate limits, logout and revocation, TLS cookies, and the OpenAPI security scheme."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest

from compute.jobs.peers import IDENTITY_PATH
from compute.transport.endpoint import MAX_ENVELOPE_BYTES
from compute.transport.http import MESSAGES_PATH
from gateway.auth import sign_request
from gateway.sessions import COOKIE
from gateway.settings import RateLimits

from .conftest import Consortium, Gateway, running_gateway

API_LIMIT = 1024 * 1024  # Settings.max_body_bytes by default


def _complete(response: bytes) -> bool:
    head, found, body = response.partition(b"\r\n\r\n")
    if not found:
        return False
    length = next(
        (line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), b"0"
    )
    return len(body) >= int(length)


def _raw(url: str, head: bytes, body_parts: Iterator[bytes] = iter(())) -> tuple[bytes, int]:
    """Send a request by hand; (the response, how many body bytes were sent before it came)."""
    parsed = urlparse(url)
    sent = 0
    with socket.create_connection((parsed.hostname, parsed.port), timeout=20) as sock:
        sock.sendall(head)
        sock.settimeout(0.05)
        response = b""
        deadline = time.monotonic() + 20
        for part in body_parts:
            try:
                response = sock.recv(65536)
            except TimeoutError:
                response = b""
            if response:
                break
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        while not _complete(response):
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            response += chunk
    return response, sent


def test_an_oversized_declared_body_is_refused_413_before_one_byte_is_read(gateway: Gateway) -> None:
    head = b"POST /sources HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
    response, _ = _raw(gateway.url, head)  # 200 MiB announced, nothing sent
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"request.too_large" in response


def test_a_streamed_body_is_cut_off_413_as_soon_as_it_passes_the_limit(gateway: Gateway) -> None:
    head = b"POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = 64 * 1024
    parts = (b"%x\r\n" % chunk + b"[" * chunk + b"\r\n" for _ in range(1024))  # up to 64 MiB, never finished
    response, sent = _raw(gateway.url, head, parts)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert API_LIMIT < sent < 4 * API_LIMIT, f"the gateway read {sent} bytes before refusing"


def test_the_transport_route_keeps_the_envelope_limit_of_compute(gateway: Gateway) -> None:
    over = f"POST {MESSAGES_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_ENVELOPE_BYTES + 1}\r\n\r\n"
    response, _ = _raw(gateway.url, over.encode())
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    bigger_than_api = httpx.post(gateway.url + MESSAGES_PATH, content=b"\x00" * (2 * API_LIMIT), timeout=30)
    assert bigger_than_api.status_code == 400  # read and parsed (not an envelope), not refused by the API limit
    assert bigger_than_api.json()["code"] == "transport.malformed"


def test_deeply_nested_json_is_refused_before_parsing(gateway: Gateway) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = gateway.client("bank").post("/sources", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "request.too_deep"
    still_up = httpx.get(gateway.url + "/domain")
    assert still_up.status_code == 200


@pytest.mark.parametrize("path", ["/domain", "/explorer", "/audit/jobs", "/no/such/route", "/openapi.json"])
def test_every_response_carries_the_security_headers(gateway: Gateway, path: str) -> None:
    response = httpx.get(gateway.url + path)
    headers = response.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_static_assets_may_be_cached_but_are_still_guarded(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/static/explorer.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_logout_revokes_the_session_on_the_server(gateway: Gateway) -> None:
    browser = httpx.Client(base_url=gateway.url)
    browser.get(gateway.client("regulator").post("/sessions").json()["login_path"])
    token = browser.cookies[COOKIE]
    assert browser.get("/explorer").status_code == 200
    out = browser.post("/explorer/logout")
    assert out.status_code == 200 and "signed out" in out.text
    replayed = httpx.get(gateway.url + "/explorer", cookies={COOKIE: token})  # the old cookie, kept by an attacker
    assert replayed.status_code == 401


def test_a_member_revokes_every_session_it_holds(gateway: Gateway) -> None:
    tokens = []
    for _ in range(2):
        browser = httpx.Client(base_url=gateway.url)
        browser.get(gateway.client("regulator").post("/sessions").json()["login_path"])
        tokens.append(browser.cookies[COOKIE])
    revoked = gateway.client("regulator").delete("/sessions")
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 2
    for token in tokens:
        assert httpx.get(gateway.url + "/explorer", cookies={COOKIE: token}).status_code == 401


def test_openapi_declares_the_signing_headers_and_no_cdn_docs(gateway: Gateway) -> None:
    schema = httpx.get(gateway.url + "/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {
        "X-Custos-Caller",
        "X-Custos-Timestamp",
        "X-Custos-Nonce",
        "X-Custos-Signature",
    }
    assert schema["paths"]["/audit/jobs"]["get"]["security"] == [dict.fromkeys(schemes, [])]
    assert "security" not in schema["paths"]["/domain"]["get"]
    assert "no `?` at all when the query is empty" in schema["info"]["description"]
    assert httpx.get(gateway.url + "/docs").status_code == 404


@pytest.fixture(scope="module")
def strict(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A second gateway on the same chain with small rate limits and a Secure cookie (as under TLS)."""
    limits = RateLimits(ip_rate=0.5, ip_burst=12, caller_rate=0.5, caller_burst=3)
    with running_gateway(consortium, tmp_path_factory.mktemp("strict"), limits=limits, secure_cookie=True) as running:
        yield running


def test_a_caller_over_its_rate_gets_429_with_retry_after_and_others_still_pass(strict: Gateway) -> None:
    strict.clock.value += 100  # every bucket full again
    regulator = strict.client("regulator")
    statuses = [regulator.get("/members/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = regulator.get("/members/me")
    assert refused.json()["code"] == "rate.limited" and int(refused.headers["retry-after"]) >= 1
    assert strict.client("card").get("/members/me").status_code == 200  # per caller, not global
    strict.clock.value += 10  # the bucket refills with time
    assert regulator.get("/members/me").status_code == 200


def test_forged_requests_cannot_spend_a_members_budget(strict: Gateway) -> None:
    strict.clock.value += 100  # every bucket full again
    victim = strict.address("hospital")
    for _ in range(5):  # an outsider claims to be the hospital; the signature is its own
        signed = sign_request(strict.key("outsider"), strict.domain, "GET", "/members/me", b"", int(strict.clock.now()))
        headers = signed.as_headers() | {"x-custos-caller": victim}
        assert httpx.get(strict.url + "/members/me", headers=headers).status_code == 401
    assert strict.client("hospital").get("/members/me").status_code == 200


def test_an_ip_over_its_rate_gets_429_but_transport_peers_are_not_throttled(strict: Gateway) -> None:
    strict.clock.value += 100  # every bucket full again
    client = httpx.Client(base_url=strict.url)
    codes = [client.get("/domain").status_code for _ in range(14)]
    assert 429 in codes
    refused = client.get("/domain")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    envelopes = [client.post(MESSAGES_PATH, content=b"x").status_code for _ in range(30)]
    assert set(envelopes) == {400}  # refused as malformed, never as throttled
    # A hosted runner's identity, polled by every peer waiting on every job, shares the transport bucket.
    identities = [client.get(IDENTITY_PATH).status_code for _ in range(30)]
    assert set(identities) == {404}  # this gateway hosts no runner: not found, never throttled


def test_the_session_cookie_is_secure_under_tls(strict: Gateway) -> None:
    strict.clock.value += 100  # every bucket full again
    login = strict.client("regulator").post("/sessions").json()["login_path"]
    response = httpx.get(strict.url + login)
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "max-age=31536000" in response.headers["strict-transport-security"]

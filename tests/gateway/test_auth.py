"""EIP-712 request signatures: sign→verify round trips; any altered field fails."""

from __future__ import annotations

import pytest
from eth_account import Account

from gateway.auth import RequestDomain, SignedHeaders, check_fresh, check_signature, parse_headers, sign_request
from gateway.errors import Unauthenticated

DOMAIN = RequestDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "33" * 20)
KEY = Account.create().key


def _signed() -> SignedHeaders:
    return sign_request(KEY, DOMAIN, "post", "/jobs?x=1", b'{"a":1}', 1_700_000_000)


def test_signature_over_the_same_request_verifies() -> None:
    signed = parse_headers(_signed().as_headers())
    check_signature(signed, DOMAIN, "POST", "/jobs?x=1", b'{"a":1}')
    assert signed.caller == Account.from_key(KEY).address


@pytest.mark.parametrize(
    ("domain", "method", "target", "body"),
    [
        (DOMAIN, "GET", "/jobs?x=1", b'{"a":1}'),
        (DOMAIN, "POST", "/jobs?x=2", b'{"a":1}'),
        (DOMAIN, "POST", "/jobs?x=1", b'{"a":2}'),
        (RequestDomain(1, DOMAIN.consortium, DOMAIN.gateway), "POST", "/jobs?x=1", b'{"a":1}'),
        (RequestDomain(31337, "0x" + "22" * 20, DOMAIN.gateway), "POST", "/jobs?x=1", b'{"a":1}'),
        (RequestDomain(31337, DOMAIN.consortium, "0x" + "44" * 20), "POST", "/jobs?x=1", b'{"a":1}'),
    ],
    ids=["method", "query", "body", "chain", "consortium", "gateway"],
)
def test_signature_rejects_any_altered_field(domain: RequestDomain, method: str, target: str, body: bytes) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_signature(_signed(), domain, method, target, body)
    assert refused.value.code == "auth.bad_signature"


def test_signature_rejects_a_claimed_caller_that_did_not_sign() -> None:
    headers = _signed().as_headers() | {"x-custos-caller": Account.create().address}
    with pytest.raises(Unauthenticated) as refused:
        check_signature(parse_headers(headers), DOMAIN, "POST", "/jobs?x=1", b'{"a":1}')
    assert refused.value.code == "auth.bad_signature"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-custos-caller", "bank-a"),
        ("x-custos-timestamp", "-5"),
        ("x-custos-nonce", "0x1234"),
        ("x-custos-signature", "0xzz"),
    ],
)
def test_parse_refuses_malformed_headers(header: str, value: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        parse_headers(_signed().as_headers() | {header: value})
    assert refused.value.code == "auth.malformed"
    assert header in refused.value.message or "address" in refused.value.message


def test_freshness_window_is_symmetric() -> None:
    signed = _signed()
    check_fresh(signed, signed.timestamp + 60, 60)
    check_fresh(signed, signed.timestamp - 60, 60)
    for now in (signed.timestamp + 61, signed.timestamp - 61):
        with pytest.raises(Unauthenticated) as refused:
            check_fresh(signed, now, 60)
        assert refused.value.code == "auth.stale"


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("get", "/audit/jobs?status=Finalized", b""),
        ("POST", "/sources", b'{"a":1}'),
        ("GET", "/explorer/ü", b"\0" * 99),
    ],
)
def test_the_fast_digest_is_the_eip712_digest_wallets_sign(method: str, target: str, body: bytes) -> None:
    from gateway.auth import _typed_data, request_digest
    from ledger.signing import typed_digest

    caller, nonce = Account.from_key(KEY).address, bytes(range(32))
    generic = typed_digest(_typed_data(DOMAIN, method, target, body, caller, 1_700_000_000, nonce))
    assert request_digest(DOMAIN, method, target, body, caller, 1_700_000_000, nonce) == generic


def test_a_timestamp_beyond_uint64_is_refused_not_crashed() -> None:
    signed = _signed()
    huge = SignedHeaders(signed.caller, 2**64, signed.nonce, signed.signature)
    with pytest.raises(Unauthenticated):
        check_signature(huge, DOMAIN, "POST", "/jobs?x=1", b'{"a":1}')

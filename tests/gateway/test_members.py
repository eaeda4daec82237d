"""GET /members/me, and the refusal matrix every signed route shares."""

from __future__ import annotations

import httpx
import pytest
from eth_account import Account

from gateway.auth import RequestDomain, sign_request

from .conftest import Gateway, Keys


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert "Traceback" not in response.text
    return body["message"]


def test_member_reads_itself_with_roles(gateway: Gateway, keys: Keys) -> None:
    response = gateway.client(keys.requester).get("/members/me")
    assert response.status_code == 200
    assert response.json() == {
        "address": Keys.address(keys.requester), "name": "Bank A", "roles": ["REQUESTER", "PROVIDER"], "role_bits": 3,
    }


def test_unsigned_request_is_refused(gateway: Gateway) -> None:
    message = _refused(httpx.get(gateway.url + "/members/me"), 401, "auth.missing")
    assert "x-custos-signature" in message
    assert httpx.get(gateway.url + "/members/me").headers["www-authenticate"].startswith("Custos-EIP712")


def test_badly_signed_request_is_refused(gateway: Gateway, keys: Keys) -> None:
    wrong_domain = RequestDomain(gateway.domain.chain_id + 1, gateway.domain.consortium)
    _refused(gateway.client(keys.requester, wrong_domain).get("/members/me"), 401, "auth.bad_signature")


def test_request_signed_by_another_key_than_its_caller_is_refused(gateway: Gateway, keys: Keys) -> None:
    signed = sign_request(keys.outsider, gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    headers = signed.as_headers() | {"x-custos-caller": Keys.address(keys.requester)}
    _refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.bad_signature")


def test_stale_request_is_refused(gateway: Gateway, keys: Keys) -> None:
    stamp = int(gateway.clock.now()) - 61
    signed = sign_request(keys.requester, gateway.domain, "GET", "/members/me", b"", stamp)
    message = _refused(httpx.get(gateway.url + "/members/me", headers=signed.as_headers()), 401, "auth.stale")
    assert "clock" in message


def test_replayed_request_is_refused(gateway: Gateway, keys: Keys) -> None:
    signed = sign_request(keys.requester, gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    assert httpx.get(gateway.url + "/members/me", headers=signed.as_headers()).status_code == 200
    _refused(httpx.get(gateway.url + "/members/me", headers=signed.as_headers()), 401, "auth.replayed")


def test_replay_with_a_malleated_signature_is_refused(gateway: Gateway, keys: Keys) -> None:
    signed = sign_request(keys.requester, gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    assert httpx.get(gateway.url + "/members/me", headers=signed.as_headers()).status_code == 200
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s, v = signed.signature[:32], int.from_bytes(signed.signature[32:64], "big"), signed.signature[64]
    malleated = r + (n - s).to_bytes(32, "big") + bytes([55 - v if v in (27, 28) else 1 - v])
    headers = signed.as_headers() | {"x-custos-signature": "0x" + malleated.hex()}
    _refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.replayed")


def test_non_member_is_refused(gateway: Gateway, keys: Keys) -> None:
    message = _refused(gateway.client(keys.outsider).get("/members/me"), 403, "auth.not_member")
    assert Keys.address(keys.outsider) in message


def test_removed_member_is_refused_at_once_without_cache(gateway: Gateway) -> None:
    key = Account.create().key
    gateway.members.add(Keys.address(key), gateway.members.table[next(iter(gateway.members.table))].roles, "Leaver")
    assert gateway.client(key).get("/members/me").status_code == 200
    del gateway.members.table[Keys.address(key)]
    _refused(gateway.client(key).get("/members/me"), 403, "auth.not_member")


@pytest.mark.parametrize("value", ["0xnothex", "12"])
def test_malformed_signature_header_is_refused(gateway: Gateway, keys: Keys, value: str) -> None:
    signed = sign_request(keys.requester, gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    headers = signed.as_headers() | {"x-custos-signature": value}
    _refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.malformed")


def test_unknown_route_is_a_json_404(gateway: Gateway) -> None:
    _refused(httpx.get(gateway.url + "/no/such/route"), 404, "route.not_found")

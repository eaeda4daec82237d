"""/members, and the refusal matrix every signed route shares (membership from the real Consortium)."""

from __future__ import annotations

import httpx
import pytest

from gateway.auth import RequestDomain, sign_request

from .conftest import Gateway, refused


def test_member_reads_itself_with_roles(gateway: Gateway) -> None:
    response = gateway.client("bank").get("/members/me")
    assert response.status_code == 200
    assert response.json() == {
        "address": gateway.address("bank"),
        "name": "Bank",
        "roles": ["REQUESTER", "PROVIDER"],
        "role_bits": 3,
    }


def test_members_lists_everyone_with_roles(gateway: Gateway) -> None:
    members = {m["name"]: m for m in gateway.client("regulator").get("/members").json()}
    assert set(members) >= {"Bank", "CardNet", "Hospital", "Arbiter", "Regulator"}
    assert members["Regulator"]["role_bits"] == 8


def test_reading_a_non_member_is_404(gateway: Gateway) -> None:
    refused(gateway.client("regulator").get("/members/" + gateway.address("outsider").lower()), 404, "member.not_found")


def test_unsigned_request_is_refused(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/members/me")
    message = refused(response, 401, "auth.missing")
    assert "x-custos-signature" in message
    assert response.headers["www-authenticate"].startswith("Custos-EIP712")


def test_badly_signed_request_is_refused(gateway: Gateway) -> None:
    wrong_domain = RequestDomain(gateway.domain.chain_id + 1, gateway.domain.consortium, gateway.domain.gateway)
    refused(gateway.client("bank", wrong_domain).get("/members/me"), 401, "auth.bad_signature")


def test_request_signed_for_another_members_gateway_is_refused(gateway: Gateway) -> None:
    elsewhere = RequestDomain(gateway.domain.chain_id, gateway.domain.consortium, gateway.address("card"))
    refused(gateway.client("regulator", elsewhere).get("/members/me"), 401, "auth.bad_signature")


def test_request_signed_by_another_key_than_its_caller_is_refused(gateway: Gateway) -> None:
    signed = sign_request(gateway.key("outsider"), gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    headers = signed.as_headers() | {"x-custos-caller": gateway.address("bank")}
    refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.bad_signature")


def test_stale_request_is_refused(gateway: Gateway) -> None:
    stamp = int(gateway.clock.now()) - 61
    signed = sign_request(gateway.key("bank"), gateway.domain, "GET", "/members/me", b"", stamp)
    assert "clock" in refused(httpx.get(gateway.url + "/members/me", headers=signed.as_headers()), 401, "auth.stale")


def test_replayed_request_is_refused(gateway: Gateway) -> None:
    signed = sign_request(gateway.key("bank"), gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    assert httpx.get(gateway.url + "/members/me", headers=signed.as_headers()).status_code == 200
    refused(httpx.get(gateway.url + "/members/me", headers=signed.as_headers()), 401, "auth.replayed")


def test_replay_with_a_malleated_signature_is_refused(gateway: Gateway) -> None:
    signed = sign_request(gateway.key("bank"), gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    assert httpx.get(gateway.url + "/members/me", headers=signed.as_headers()).status_code == 200
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s, v = signed.signature[:32], int.from_bytes(signed.signature[32:64], "big"), signed.signature[64]
    malleated = r + (n - s).to_bytes(32, "big") + bytes([55 - v if v in (27, 28) else 1 - v])
    headers = signed.as_headers() | {"x-custos-signature": "0x" + malleated.hex()}
    refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.replayed")


def test_non_member_is_refused(gateway: Gateway) -> None:
    message = refused(gateway.client("outsider").get("/members/me"), 403, "auth.not_member")
    assert gateway.address("outsider") in message


def test_wrong_role_is_refused(gateway: Gateway) -> None:
    body = {"source_id": 0}
    message = refused(gateway.client("regulator").post("/jobs/0/consent", json=body), 403, "auth.wrong_role")
    assert "PROVIDER" in message


def test_member_of_another_organisation_cannot_write_through_this_gateway(gateway: Gateway) -> None:
    message = refused(gateway.client("card").post("/jobs/0/consent", json={"source_id": 0}), 403, "auth.not_operator")
    assert gateway.address("bank") in message


@pytest.mark.parametrize("value", ["0xnothex", "12"])
def test_malformed_signature_header_is_refused(gateway: Gateway, value: str) -> None:
    signed = sign_request(gateway.key("bank"), gateway.domain, "GET", "/members/me", b"", int(gateway.clock.now()))
    headers = signed.as_headers() | {"x-custos-signature": value}
    refused(httpx.get(gateway.url + "/members/me", headers=headers), 401, "auth.malformed")


def test_unknown_route_is_a_json_404(gateway: Gateway) -> None:
    refused(httpx.get(gateway.url + "/no/such/route"), 404, "route.not_found")


def test_invalid_body_is_a_422_naming_the_field(gateway: Gateway) -> None:
    message = refused(gateway.client("bank").post("/jobs/0/consent", json={"source_id": -1}), 422, "request.invalid")
    assert "source_id" in message

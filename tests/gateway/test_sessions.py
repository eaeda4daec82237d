"""POST /sessions and the explorer login it leads to."""

from __future__ import annotations

import httpx

from .conftest import Gateway, Keys


def test_member_session_link_signs_a_browser_in_once(gateway: Gateway, keys: Keys) -> None:
    created = gateway.client(keys.auditor).post("/sessions")
    assert created.status_code == 201
    path = created.json()["login_path"]
    browser = httpx.Client(base_url=gateway.url, follow_redirects=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert Keys.address(keys.auditor) in page.text
    again = httpx.get(gateway.url + path)
    assert again.status_code == 401
    assert "used or expired" in again.text


def test_explorer_without_session_asks_to_sign_in(gateway: Gateway) -> None:
    page = httpx.get(gateway.url + "/explorer")
    assert page.status_code == 401
    assert "custos gateway explorer-login" in page.text


def test_non_member_gets_no_session(gateway: Gateway, keys: Keys) -> None:
    response = gateway.client(keys.outsider).post("/sessions")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_member"

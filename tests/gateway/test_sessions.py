"""POST /sessions and the explorer login it leads to."""

from __future__ import annotations

import httpx

from .conftest import Gateway


def test_member_session_link_signs_a_browser_in_once(gateway: Gateway) -> None:
    created = gateway.client("regulator").post("/sessions")
    assert created.status_code == 201
    path = created.json()["login_path"]
    browser = httpx.Client(base_url=gateway.url, follow_redirects=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert gateway.address("regulator") in page.text
    again = httpx.get(gateway.url + path)
    assert again.status_code == 401
    assert "used or expired" in again.text


def test_explorer_without_session_asks_to_sign_in(gateway: Gateway) -> None:
    page = httpx.get(gateway.url + "/explorer")
    assert page.status_code == 401
    assert "custos gateway explorer-login" in page.text


def test_non_member_gets_no_session(gateway: Gateway) -> None:
    response = gateway.client("outsider").post("/sessions")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_member"


def test_explorer_session_streams_live_progress(gateway: Gateway) -> None:
    from gateway.progress import ProgressEvent

    bus = gateway.services.progress
    bus.publish(ProgressEvent(31, "running", "round 3 of 4", 0.75))
    bus.publish(ProgressEvent(31, "finished", "result committed", 1.0))
    browser = httpx.Client(base_url=gateway.url, follow_redirects=True)
    browser.get(gateway.client("regulator").post("/sessions").json()["login_path"])
    with browser.stream("GET", "/explorer/jobs/31/progress") as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert ['"stage": "running"' in lines[0], '"stage": "finished"' in lines[1]] == [True, True]


def test_explorer_data_needs_a_session(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/explorer/jobs/31/progress")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.no_session"

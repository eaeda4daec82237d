"""The audit explorer in a real browser: Playwright drives Debian's headless Chromium against the
gateway on loopback, signs in with a one-time link, opens the finished job and sees every step
verified; the screenshot is kept as a test artifact (test-artifacts/explorer-job.png)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from .conftest import Gateway

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine's closed
# network refuses it; --no-sandbox because the tests run as root.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("CUSTOS_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def test_regulator_sees_the_finished_job_verified_step_by_step(gateway: Gateway, browser: Browser) -> None:
    login = gateway.client("regulator").post("/sessions").json()["login_path"]
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(gateway.url + login)
    job_id = gateway.consortium.job_id
    page.click(f"a[href='/explorer/jobs/{job_id}']")
    page.wait_for_selector("#timeline")

    marks = page.locator("#timeline tr.step")
    events = page.locator("#timeline tr.step td:nth-child(2)").all_inner_texts()
    assert marks.count() >= 8
    assert all(m == "yes" for m in [marks.nth(i).get_attribute("data-verified") for i in range(marks.count())])
    assert "Every step verified." in page.inner_text("#trail-verdict")
    for name in ("JobOpened", "ConsentGiven", "ResultCommitted", "AttestationRecorded", "JobFinalized"):
        assert any(e.startswith(name) for e in events), name

    first = page.locator("details.proof").first
    first.locator("summary").click()
    page.wait_for_function("document.querySelector('details.proof pre').textContent.includes('block_hash')")
    assert "log in receipt" in first.inner_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "explorer-job.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_sources_and_payout_chart_render(gateway: Gateway, browser: Browser) -> None:
    login = gateway.client("regulator").post("/sessions").json()["login_path"]
    page = browser.new_page()
    page.goto(gateway.url + login)
    page.goto(gateway.url + "/explorer/payouts")
    assert page.locator("#payout-chart rect").count() >= 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-payouts.png"), full_page=True)
    page.goto(gateway.url + "/explorer/sources")
    assert "Source #0" in page.inner_text("main")
    page.close()


def test_running_job_shows_live_progress(gateway: Gateway, browser: Browser) -> None:
    from gateway.progress import ProgressEvent

    job_id, bus = gateway.consortium.job_id, gateway.services.progress
    bus.publish(ProgressEvent(job_id, "running", "round 2 of 5", 0.4))
    login = gateway.client("regulator").post("/sessions").json()["login_path"]
    page = browser.new_page()
    page.goto(gateway.url + login)
    page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
    page.wait_for_function("document.getElementById('live-stage').textContent.includes('round 2 of 5')")
    bus.publish(ProgressEvent(job_id, "finished", "result committed", 1.0))
    page.wait_for_function("document.getElementById('live-stage').textContent.startsWith('finished')")
    assert page.evaluate("document.getElementById('live-bar').style.width") == "100%"
    page.close()

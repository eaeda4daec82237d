"""The job page stays true: a failed check shows on its step, the status and timeline follow the
chain as events land, and per-round progress arrives live (Playwright + Debian Chromium)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from gateway.progress import ProgressEvent, runner_listener

from .conftest import Consortium, Gateway, running_gateway, screenshot, signed_in
from .scenario import consent, open_job


class _Step:  # the shape of compute.jobs.runner.Progress
    def __init__(self, job_id: int, stage: str, detail: str = "") -> None:
        self.job_id, self.party, self.stage, self.detail = job_id, "arbiter", stage, detail


@pytest.fixture
def tampered(consortium: Consortium, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway whose audit index an intruder edited: the first attestation names another signer."""
    with running_gateway(consortium, tmp_path) as running:
        running.services.audit.indexed_position()  # type: ignore[union-attr]  # index the chain, verify nothing yet
        with sqlite3.connect(tmp_path / "gateway" / "audit-index.db") as db:
            db.execute(
                "UPDATE events SET args = json_set(args, '$.signer', ?) WHERE id = "
                "(SELECT min(id) FROM events WHERE event = 'AttestationRecorded')",
                (consortium.people["regulator"].address,),
            )
        yield running


def test_a_failed_attestation_check_shows_on_its_step_with_the_reason(tampered: Gateway, browser: Browser) -> None:
    page = signed_in(tampered, browser)
    page.goto(f"{tampered.url}/explorer/jobs/{tampered.consortium.job_id}")
    expect(page.locator("#trail-verdict")).to_contain_text("Verification failed")
    failed = page.locator("#timeline tr.step[data-verified='no']")
    assert failed.count() == 1
    assert failed.get_attribute("data-event") == "AttestationRecorded"
    reasons = failed.locator("ul.checks").first.inner_text()
    assert "✗ attestation signature" in reasons and "not the signer" in reasons
    assert page.locator("#timeline tr.step[data-verified='yes']").count() >= 12  # every other step still ✓
    assert "attestation signature" in page.inner_text("#trail-verdict")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # a long reason wraps
    screenshot(page, "explorer-failed-check.png")
    page.close()


def test_status_badge_and_timeline_follow_the_chain_and_rounds_arrive_live(gateway: Gateway, browser: Browser) -> None:
    consortium = gateway.consortium
    job_id = open_job(consortium.w3, consortium.deployment, consortium.people)
    publish = runner_listener(gateway.services.progress)
    publish(_Step(job_id, "protocol", "running FEDAVG with 3 parties"))
    gateway.clock.value += 2
    page = signed_in(gateway, browser)
    page.goto(f"{gateway.url}/explorer/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("Open")
    steps_before = page.locator("#timeline tr.step").count()

    consent(consortium.w3, consortium.deployment, consortium.people, job_id)
    gateway.clock.value += 2  # the gateway's index syncs again
    expect(page.locator("#job-status")).to_have_text("Ready", timeout=20_000)
    assert page.locator("#timeline tr.step").count() > steps_before

    publish(_Step(job_id, "round", "3/10 loss=0.412 auc=0.781"))
    expect(page.locator("#live-round")).to_contain_text("round 3 of 10: loss 0.412, auc 0.781", timeout=20_000)
    assert page.evaluate("document.getElementById('live-bar').style.width") == "39%"
    screenshot(page, "explorer-live-job.png")
    publish(_Step(job_id, "abort", "test over"))
    page.close()


def test_the_explorer_stream_sends_heartbeats_and_trail_changes(gateway: Gateway) -> None:
    browser = httpx.Client(base_url=gateway.url)
    browser.get(gateway.client("regulator").post("/sessions").json()["login_path"])
    gateway.services.progress.publish(ProgressEvent(4242, "running", "quiet protocol", 0.3))
    lines: list[str] = []
    with browser.stream("GET", "/explorer/jobs/4242/progress", timeout=20) as stream:
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith(": heartbeat"):
                break
    assert lines[0] == "retry: 2000" and "id: 1" in lines
    gateway.services.progress.publish(ProgressEvent(4242, "finished", "done", 1.0))


def test_a_reconnecting_client_gets_only_what_it_missed(gateway: Gateway) -> None:
    bus = gateway.services.progress
    for stage, fraction in (("running", 0.3), ("running", 0.5), ("finished", 1.0)):
        bus.publish(ProgressEvent(4343, stage, stage, fraction))
    client = gateway.client("regulator")
    with client.stream("GET", "/jobs/4343/progress", headers={"Last-Event-ID": "2"}) as stream:
        ids = [line for line in stream.iter_lines() if line.startswith("id: ")]
    assert ids == ["id: 3"]

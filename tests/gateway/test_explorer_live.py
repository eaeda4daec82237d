"""The job page stays true: a failed check shows on its step, the status and timeline follow the
chain as events land, and per-round progress arrives live, from a test publisher and from a real
hetero-LR job played by gateway-hosted runners (Playwright + Debian Chromium)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from custos.demo import Demo
from gateway.client import GatewayClient
from gateway.progress import ProgressEvent, runner_listener
from ledger.errors import ConnectionFailed
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV
from tests.small_demo import small_demo_config

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


def test_the_explorer_stream_outlives_its_chain_node_going_away(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def node_away(job_id: int) -> None:
        raise ConnectionFailed("could not read the head: connection refused")

    browser = httpx.Client(base_url=gateway.url)
    browser.get(gateway.client("regulator").post("/sessions").json()["login_path"])
    gateway.services.progress.publish(ProgressEvent(4444, "running", "node about to go", 0.3))
    monkeypatch.setattr(gateway.services.audit, "job_trail", node_away)  # after the route found the job
    lines: list[str] = []
    with browser.stream("GET", "/explorer/jobs/4444/progress", timeout=20) as stream:
        for line in stream.iter_lines():
            lines.append(line)
            if lines.count(": heartbeat") == 2:  # the probe after the first failed, and the stream went on
                break
    assert "id: 1" in lines and "event: trail" not in lines
    gateway.services.progress.publish(ProgressEvent(4444, "finished", "done", 1.0))


def test_a_reconnecting_client_gets_only_what_it_missed(gateway: Gateway) -> None:
    bus = gateway.services.progress
    for stage, fraction in (("running", 0.3), ("running", 0.5), ("finished", 1.0)):
        bus.publish(ProgressEvent(4343, stage, stage, fraction))
    client = gateway.client("regulator")
    with client.stream("GET", "/jobs/4343/progress", headers={"Last-Event-ID": "2"}) as stream:
        ids = [line for line in stream.iter_lines() if line.startswith("id: ")]
    assert ids == ["id: 3"]


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """The small demo consortium: a chain node, four organisations' keys and data, no gateway yet."""
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    run = Demo(small_demo_config(tmp_path / "demo", epochs=3, deadline=120), lambda line: None)
    yield run
    run.stop()


@pytest.mark.timeout(240)
def test_a_real_hetero_lr_job_shows_each_epoch_with_its_loss_and_eta_live_on_the_bank_gateway(
    demo: Demo, browser: Browser
) -> None:
    rpc = demo.start_chain()
    members = demo.members(rpc)
    job_id = demo.open_job(members["bank"], demo.register_sources(rpc, members))
    demo.start_gateways(None, parties=("bank",))  # the bank is the guest: its role reports each epoch
    bank = demo.gateways["bank"]
    with GatewayClient.connect(bank, demo.keys["regulator"]) as client:
        login = client.post("/sessions").json()["login_path"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(bank + login)
    page.goto(f"{bank}/explorer/jobs/{job_id}")  # opened before any epoch: what follows arrives live
    expect(page.locator("#job-status")).to_have_text("Open")
    epochs = page.locator("#live-rounds li")
    assert epochs.count() == 0

    demo.start_gateways(job_id, parties=("invoice-firm", "card-network", "compute-node"))

    expect(page.locator("#live")).to_be_visible(timeout=60_000)  # shown from the runner's first step on
    expect(epochs.first).to_contain_text(
        re.compile(r"^epoch 1 of 3: loss \d\.\d+, about \d+(\.\d)? s left$"), timeout=90_000
    )
    expect(page.locator("#job-status")).not_to_have_text("Open", timeout=20_000)  # consent moved the badge
    expect(epochs.nth(1)).to_contain_text(
        re.compile(r"^epoch 2 of 3: loss \d\.\d+, about \d+(\.\d)? s left$"), timeout=60_000
    )
    assert float(page.evaluate("parseFloat(document.getElementById('live-bar').style.width)")) > 30  # past set-up
    screenshot(page, "explorer-live-epochs.png")
    expect(page.locator("#job-status")).to_have_text("Finalized", timeout=90_000)
    shown = [float(re.findall(r"loss (\d\.\d+)", line)[0]) for line in epochs.all_inner_texts()]
    with (
        GatewayClient.connect(bank, demo.keys["regulator"]) as client,  # what the bank's runner reported
        client.stream("GET", f"/jobs/{job_id}/progress") as stream,  # ends at the last step
    ):
        steps = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert shown == [step["metrics"]["loss"] for step in steps if step["step"] == "round"]
    page.close()

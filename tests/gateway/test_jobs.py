"""GET /jobs/{id}/progress: server-sent progress events from the in-process bus."""

from __future__ import annotations

import threading

from gateway.progress import ProgressEvent

from .conftest import Gateway, Keys


def test_progress_streams_past_then_live_events_until_finished(gateway: Gateway, keys: Keys) -> None:
    bus = gateway.services.progress
    bus.publish(ProgressEvent(7, "queued", "waiting for consent", 0.0))
    later = threading.Timer(0.2, lambda: [bus.publish(ProgressEvent(7, "running", "round 1 of 2", 0.5)),
                                          bus.publish(ProgressEvent(7, "finished", "result committed", 1.0))])
    later.start()
    events = list(gateway.client(keys.auditor).progress(7))
    later.join()
    assert [(e["stage"], e["fraction"]) for e in events] == [("queued", 0.0), ("running", 0.5), ("finished", 1.0)]


def test_progress_of_a_job_not_running_here_is_404(gateway: Gateway, keys: Keys) -> None:
    response = gateway.client(keys.auditor).get("/jobs/999/progress")
    assert response.status_code == 404
    assert response.json()["code"] == "job.not_running"


def test_progress_refuses_a_non_member(gateway: Gateway, keys: Keys) -> None:
    gateway.services.progress.publish(ProgressEvent(8, "queued", "waiting", 0.0))
    response = gateway.client(keys.outsider).get("/jobs/8/progress")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_member"


def test_negative_job_id_is_a_clear_422(gateway: Gateway, keys: Keys) -> None:
    response = gateway.client(keys.auditor).get("/jobs/-1/progress")
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
    assert "job_id" in response.json()["message"]

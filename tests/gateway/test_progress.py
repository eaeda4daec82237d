"""The progress bus on its own: history for late subscribers, terminal events close streams,
and the job runner's steps mapped to stages and fractions."""

from __future__ import annotations

import asyncio

import pytest

from compute.jobs.runner import Progress
from compute.rounds import RoundReport
from gateway.progress import ProgressBus, ProgressEvent, runner_listener


def _Step(job_id: int, stage: str, detail: str = "") -> Progress:  # noqa: N802 - reads as the step it builds
    return Progress(job_id, "bank", stage, detail)


async def _collect(bus: ProgressBus, job_id: int) -> list[ProgressEvent]:
    return [event async for event in bus.subscribe(job_id)]


def test_late_subscriber_gets_history_and_stops_at_the_terminal_event() -> None:
    bus = ProgressBus()
    bus.publish(ProgressEvent(1, "queued", "waiting", 0.0))
    bus.publish(ProgressEvent(1, "finished", "done", 1.0))
    bus.publish(ProgressEvent(2, "queued", "another job", 0.0))
    events = asyncio.run(_collect(bus, 1))
    assert [e.stage for e in events] == ["queued", "finished"]


def test_runner_steps_become_stages_with_fractions() -> None:
    bus = ProgressBus()
    publish = runner_listener(bus)
    for stage in ("consent", "protocol", "attest-skipped", "commit", "finalize"):
        publish(_Step(3, stage, "detail"))
    events = bus.history(3)
    assert [(e.stage, e.fraction) for e in events] == [
        ("consent", 0.15),
        ("running", 0.3),
        ("running", 0.3),
        ("committed", 0.7),
        ("finished", 1.0),
    ]
    assert events[-1].terminal and events[0].message == "bank: consent (detail)"


def test_an_aborted_job_ends_its_stream_as_failed() -> None:
    bus = ProgressBus()
    runner_listener(bus)(_Step(4, "abort", "data does not match its commitment"))
    assert [(e.stage, e.terminal) for e in asyncio.run(_collect(bus, 4))] == [("failed", True)]


def test_a_training_roles_round_report_reaches_the_bus_with_its_own_eta_and_who_sent_it() -> None:
    bus = ProgressBus()
    publish = runner_listener(bus)
    publish(Progress(5, "bank", "protocol", "running hetero-lr with 4 parties"))
    report = RoundReport(2, 8, {"loss": 0.4123, "auc": 0.78}, elapsed=3.0)  # 1.5 s a round, 6 rounds left

    publish(Progress(5, "bank", "round", report.detail()))

    event = bus.history(5)[-1]
    assert report.detail() == "2/8 loss=0.4123 auc=0.78 eta_s=9"
    assert (event.round, event.rounds, event.fraction) == (2, 8, 0.375)
    assert event.metrics == {"loss": 0.4123, "auc": 0.78} and event.eta_seconds == pytest.approx(9.0)
    assert (event.party, event.step, event.stage) == ("bank", "round", "running")


def test_rounds_move_the_fraction_through_the_protocol_with_metrics_and_an_eta() -> None:
    bus = ProgressBus()
    publish = runner_listener(bus)
    publish(_Step(6, "protocol", "running FEDAVG"))
    publish(_Step(6, "round", "5/10 loss=0.25 auc=0.9"))
    event = bus.history(6)[-1]
    assert (event.round, event.rounds, event.fraction) == (5, 10, 0.45)
    assert event.metrics == {"loss": 0.25, "auc": 0.9}
    assert event.eta_seconds is not None and event.eta_seconds >= 0
    publish(_Step(6, "round", "not a round"))  # unparseable: keeps the last fraction
    assert bus.history(6)[-1].fraction == 0.45


def test_a_reconnecting_subscriber_resumes_after_its_last_event_id() -> None:
    bus = ProgressBus()
    for stage in ("queued", "running", "finished"):
        bus.publish(ProgressEvent(9, stage, stage))

    async def resume() -> list[int]:
        return [e.seq async for e in bus.subscribe(9, after=2) if e is not None]

    assert asyncio.run(resume()) == [3]


def test_a_subscriber_that_falls_behind_is_cut_off_not_buffered_without_bound() -> None:
    from gateway.progress import QUEUE_SIZE

    bus = ProgressBus()
    bus.publish(ProgressEvent(10, "running", "start"))

    async def slow_reader() -> tuple[int, int]:
        stream = bus.subscribe(10)
        received = [await anext(stream)]  # subscribed now
        for i in range(QUEUE_SIZE * 3):
            bus.publish(ProgressEvent(10, "running", f"message {i}"))
        await asyncio.sleep(0)  # let the loop deliver the offers (no waiting on time)
        received += [e async for e in stream]
        return len(received), bus.subscribers(10)

    received, left = asyncio.run(slow_reader())
    assert received <= QUEUE_SIZE + 1 and left == 0


def test_closing_the_bus_ends_a_live_stream_of_a_running_job_and_a_later_one_after_its_history() -> None:
    bus = ProgressBus()
    bus.publish(ProgressEvent(11, "running", "start"))

    async def shut_down_while_streaming() -> tuple[list[str], list[str], int]:
        stream = bus.subscribe(11)  # no idle heartbeat: without `close` this waits for the job's next event
        first = await anext(stream)  # from the history
        live = [first.message if first is not None else "heartbeat"]
        bus.close()  # the gateway shuts down; the job still runs
        live += [e.message async for e in stream if e is not None]
        later = [e.message async for e in bus.subscribe(11) if e is not None]
        return live, later, bus.subscribers(11)

    live, later, left = asyncio.run(asyncio.wait_for(shut_down_while_streaming(), timeout=10))
    assert live == ["start"] and later == ["start"] and left == 0

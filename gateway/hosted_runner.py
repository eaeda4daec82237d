"""The job runner inside the gateway's process: one endpoint, one progress bus, one key.

With `custos gateway up --runner` the organisation's `JobRunner` runs on a background thread
of the gateway. It registers its job mailboxes with the gateway's `MessageEndpoint`, so the
gateway's transport route (envelopes authenticated by their senders' signatures, size-limited)
is the party endpoint; its identity and parameter-document routes are mounted on the gateway
app; the URL published on chain is the gateway's public URL; its typed `Progress` steps go
straight onto the gateway's `ProgressBus`, and each one is also a line in the gateway's log
(logger `custos.runner`, INFO: job, party, step and its detail; hashes and counts, never keys or
rows), so an operator can follow a job, and see where it stopped, without a browser.
Organisations without a gateway run the same runner alone (`custos runner up`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI

from compute.jobs.runner import STOP_GRACE_SECONDS, JobRunner, Progress
from compute.jobs.workspace import Workspace
from gateway.progress import runner_listener
from gateway.services import GatewayServices
from ledger.member import MemberLedger

log = logging.getLogger("custos.runner")


def logged(listener: Callable[[Progress], None]) -> Callable[[Progress], None]:
    """`listener`, with each runner step also logged as one INFO line (job -1: the runner itself)."""

    def on_progress(step: Progress) -> None:
        subject = "runner" if step.job_id < 0 else f"job {step.job_id}"
        log.info("%s %s: %s%s", subject, step.party, step.stage, f" ({step.detail})" if step.detail else "")
        listener(step)

    return on_progress


class HostedRunner:
    """A `JobRunner` on the gateway's endpoint and bus, advancing jobs on its own thread."""

    def __init__(self, runner: JobRunner, poll: float = 0.3) -> None:
        self.runner, self.poll = runner, poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def alive(self) -> bool:
        """Whether the runner's loop is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Publish the endpoint and start advancing jobs (once the gateway serves)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        try:
            self.runner.run(self._stop, poll=self.poll, grace=STOP_GRACE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the gateway keeps serving (reads, audit); the log says why jobs stopped
            log.exception("the job runner stopped: %s", exc)

    def stop(self, timeout: float = STOP_GRACE_SECONDS + 2.0) -> None:
        """Stop advancing jobs and release connections (once); result bundles are already saved at commit.

        Each job's current step gets `STOP_GRACE_SECONDS` to end; a protocol run still going then is
        abandoned (the gateway's process is exiting; its peers abort the job as for a crashed party), and
        the runner's loop gets `timeout` seconds in all (one RPC call in flight, say) before it is let go.
        """
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the job runner did not stop within %.0f s; leaving it to the process exit", timeout)
        self.runner.close()


def host_runner(
    app: FastAPI, workspace: Workspace, member: MemberLedger, public_url: str, protocol_timeout: float = 120.0
) -> HostedRunner:
    """Host the runner of `workspace` in the gateway `app`, signing as `member` (the gateway's own key).

    Its mailboxes go on the app's transport endpoint, its party routes are mounted, its progress goes
    to the app's bus; the app starts its loop when it starts serving and stops it when it shuts down.
    """
    services: GatewayServices = app.state.services
    runner = JobRunner(
        workspace,
        member,
        endpoint=services.transport,
        public_url=public_url,
        on_progress=logged(runner_listener(services.progress)),
        protocol_timeout=protocol_timeout,
    )
    app.include_router(runner.party_routes())
    services.runner = HostedRunner(runner)
    return services.runner

"""A job runner's progress in the terminal: each step as a line, a live bar for the long ones.

Long steps are the protocol run (PSI, each training round or epoch with its loss when the
runner reports one) and the contribution scores (Shapley). An event that carries a
`fraction`, or a `round` event whose detail starts `k/n`, moves its bar; others show a
pulsing bar until the step ends.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

# The runner's stages that start, and that end, a long step (compute.jobs.runner.Progress.stage).
_LONG = {"protocol", "round", "epoch", "shapley"}
_ENDS = {"protocol-done", "protocol-failed", "abort", "commit"}


def _fraction(event: Any) -> float | None:
    """How far a long step is: the event's `fraction`, or the `k/n` a `round` detail starts with."""
    fraction = getattr(event, "fraction", None)
    if fraction is not None:
        return float(fraction)
    done, slash, total = event.detail.partition(" ")[0].partition("/")
    if event.stage == "round" and slash and done.isdigit() and total.isdigit() and int(total) > 0:
        return int(done) / int(total)
    return None


class ProgressView:
    """An `on_progress` callback for the job runner that draws with `rich`; use it as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> ProgressView:
        self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._bars.stop()

    def __call__(self, event: Any) -> None:
        """Show one `compute.jobs.runner.Progress` event (called from the runner's threads)."""
        if event.stage == "up":
            self._bars.console.print(f"[{event.party}] endpoint {event.detail}")
            return
        line = f"job {event.job_id} {event.stage}" + (f": {event.detail}" if event.detail else "")
        fraction = _fraction(event)
        if event.stage in _LONG:
            self._step(event.job_id, line, fraction)
        elif event.stage in _ENDS and event.job_id in self._tasks:
            self._bars.update(self._tasks.pop(event.job_id), total=1, completed=1, description=line)
        else:
            self._bars.console.print(f"[{event.party}] {line}", markup=False, highlight=False)

    def _step(self, job_id: int, line: str, fraction: float | None) -> None:
        task = self._tasks.get(job_id)
        if task is None:
            task = self._tasks[job_id] = self._bars.add_task(line, total=None)
        if fraction is None:
            self._bars.update(task, description=line)
        else:
            self._bars.update(task, description=line, total=1, completed=max(0.0, min(1.0, float(fraction))))

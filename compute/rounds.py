"""Round reports: how far a training role is (hetero-LR epoch, FedAvg round) and what it measured.

A role calls `Channel.report_round` after each round; whoever runs the role (the job runner)
listens by setting `Channel.on_round`. Reports are advisory and stay on this party's side:
they carry only what this party already knows (its own validation figures), nothing a peer sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the channel calls back into this module: import its types for annotations only
    from compute.channel import Channel
    from compute.session import RoleOutput


@dataclass(frozen=True)
class RoundReport:
    """Round `done` of at most `total` finished, its metrics (e.g. loss, auc), seconds since round 1 began."""

    done: int
    total: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far, if every remaining round runs (training may stop early)."""
        if self.done <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed / self.done * max(self.total - self.done, 0)

    def detail(self) -> str:
        """One line: `"3/10 loss=0.412 auc=0.781 eta_s=12.5"` (the form the gateway's progress bus parses)."""
        figures = {**self.metrics, **({"eta_s": eta} if (eta := self.eta_seconds) is not None else {})}
        return " ".join([f"{self.done}/{self.total}", *(f"{name}={value:.4g}" for name, value in figures.items())])


RoundListener = Callable[[RoundReport], None]


def ignore_round(report: RoundReport) -> None:
    """The listener of a channel nobody follows."""


def followed(role: Callable[[Channel], RoleOutput], on_round: RoundListener) -> Callable[[Channel], RoleOutput]:
    """`role`, with its round reports going to `on_round` (for in-process runs; the runner sets it itself)."""

    def run(ch: Channel) -> RoleOutput:
        ch.on_round = on_round
        return role(ch)

    return run

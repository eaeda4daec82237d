"""Verification reports: what was checked, about which record, and what failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not applicable"


@dataclass(frozen=True)
class Check:
    """One check of one record: its name, the record it is about, the outcome and why."""

    name: str
    subject: str
    status: str
    detail: str = ""

    @property
    def check_id(self) -> str:
        """The stable id compliance tools key on: the name in kebab case (`log-in-receipt`)."""
        return self.name.replace(" ", "-")


@dataclass(frozen=True)
class VerificationReport:
    """Every check made for a query's answer; `ok` when none failed."""

    subject: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (not-applicable checks do not fail a report)."""
        return not self.failures

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if c.status == FAILED)

    def summary(self) -> dict[str, dict[str, int]]:
        """Per check name: how many passed, failed, or did not apply."""
        counts: dict[str, Counter[str]] = {}
        for check in self.checks:
            counts.setdefault(check.name, Counter())[check.status] += 1
        return {name: dict(c) for name, c in counts.items()}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form: verdict, per-check counts, and each failure in full."""
        return {
            "subject": self.subject,
            "ok": self.ok,
            "checks": {name.replace(" ", "-"): counts for name, counts in self.summary().items()},
            "failures": [{"check": c.check_id, "subject": c.subject, "detail": c.detail} for c in self.failures],
        }

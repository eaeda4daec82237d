"""The audit trail: queries over the local event index, and their verification against the chain."""

from ledger.audit.queries import AuditQueries
from ledger.audit.trails import JobSummary, JobTrail, MemberTrail, SourceTrail, SourceUse, SourceVersion, TrailFilter

__all__ = [
    "AuditQueries",
    "JobSummary",
    "JobTrail",
    "MemberTrail",
    "SourceTrail",
    "SourceUse",
    "SourceVersion",
    "TrailFilter",
]

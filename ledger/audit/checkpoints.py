"""`custos audit checkpoint save|check`: remember blocks seen, and notice when history at them changes."""

from __future__ import annotations

from pathlib import Path

from ledger.audit.auditor import Auditor
from ledger.audit.report import VerificationReport
from ledger.audit.trustroot import Checkpoint, CheckpointFile
from ledger.errors import AuditError


def save(auditor: Auditor, path: Path, height: int | None = None) -> tuple[Checkpoint | None, VerificationReport]:
    """Save block `height` (default: the head) if every node agrees on it and it is sealed; else None."""
    if auditor.trust is None:
        raise AuditError("deployment.json pins no genesis: a checkpoint needs a trust root to belong to")
    verifier = auditor.verifier
    verifier.view = verifier.view_factory()
    view = verifier.view
    height = view.head() if height is None else height
    checks = verifier.trust_checks() + view.block_checks([height])
    report = VerificationReport(f"checkpoint at block {height}", tuple(checks + view.disagreements))
    if not report.ok:
        return None, report
    block = view.block(height)
    checkpoint = Checkpoint(height, block.header.hash, block.seals)
    CheckpointFile(path).save(auditor.trust.chain_id, auditor.trust.genesis_hash, checkpoint)
    return checkpoint, report


def check(auditor: Auditor) -> VerificationReport:
    """Every saved checkpoint still holds on every node, and the head is sealed."""
    verifier = auditor.verifier
    verifier.view = verifier.view_factory()
    if not verifier.checkpoints:
        raise AuditError("no checkpoint saved yet (`custos audit checkpoint save`)")
    checks = verifier.trust_checks()
    return VerificationReport("checkpoints", tuple(checks + verifier.view.disagreements))

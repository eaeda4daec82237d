"""Evidence bundles: one self-contained file per job, checked with no node and no network.

The format is `docs/evidence-bundle.md` (version 1). `export_job` writes it from a
verified auditor; `verify` checks it offline and reports the same checks as `--verify`.
"""

from ledger.audit.bundle.export import export_job
from ledger.audit.bundle.format import FORMAT, VERSION, BundleError, load_bundle
from ledger.audit.bundle.offline import BundleResult, verify

__all__ = ["FORMAT", "VERSION", "BundleError", "BundleResult", "export_job", "load_bundle", "verify"]

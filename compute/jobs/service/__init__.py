"""The jobs service: the one application layer the CLI, the gateway and the demo call.

- `registry`: which job kinds exist (the on-chain kind, its protocol, roster and weight rule, its CLI name);
- `documents`: the parameter document of each kind, built from what a person chooses;
- `opening`: approve the exact budget, store the parameter document, open the job;
- `consent`: the consent policies and the one check every consent path runs (data, privacy budget);
- `results`: where a party's result bundles are written and read.
"""

from compute.jobs.privacy_check import PrivacyRefused
from compute.jobs.service.consent import (
    Consented,
    ConsentPolicy,
    check_source,
    consent,
    consent_check,
    job_parameters,
    recorded_commitment,
)
from compute.jobs.service.opening import JobContracts, Opened, OpenRequest, deadline_after, open_job
from compute.jobs.service.registry import KindEntry, kind_for, kind_named, runnable_names
from compute.jobs.service.results import ResultStore

__all__ = [
    "ConsentPolicy",
    "Consented",
    "JobContracts",
    "KindEntry",
    "OpenRequest",
    "Opened",
    "PrivacyRefused",
    "ResultStore",
    "check_source",
    "consent",
    "consent_check",
    "deadline_after",
    "job_parameters",
    "kind_for",
    "kind_named",
    "open_job",
    "recorded_commitment",
    "runnable_names",
]

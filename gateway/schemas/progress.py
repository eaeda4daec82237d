"""Progress event bodies (the `data:` of each server-sent event)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProgressPublic(BaseModel):
    """One progress event of a running job."""

    job_id: int
    stage: str = Field(description="e.g. queued, consent, running, committed, attested, finished, failed")
    message: str
    fraction: float = Field(ge=0, le=1)
    at: float = Field(description="Unix time of the event")
    party: str = Field("", description="The organisation whose job runner reported it")
    step: str = Field("", description="The runner's own step: consent, protocol, round, commit, attest, ...")

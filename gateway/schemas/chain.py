"""Chain status body."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ChainStatus(BaseModel):
    """Which chain and contracts this gateway serves, and how far its audit index has read."""

    chain_id: int
    consortium: str
    operator: str = Field(description="The member this gateway acts for")
    indexed_block: int | None = Field(description="Last block read into the audit index")
    indexed_hash: str | None
    job_count: int

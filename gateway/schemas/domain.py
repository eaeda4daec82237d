"""The signing domain body."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DomainPublic(BaseModel):
    """What a client needs to sign requests to this gateway (EIP-712 domain 'Custos Gateway' v1)."""

    name: str = "Custos Gateway"
    version: str = "1"
    chain_id: int
    consortium: str = Field(description="The domain's verifyingContract")
    gateway: str = Field(description="The member this gateway acts for: the `gateway` field of every signed request")
    freshness_seconds: int = Field(description="How far a request's timestamp may be from the gateway's clock")

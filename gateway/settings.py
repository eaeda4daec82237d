"""The gateway's one settings object."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RateLimits(BaseModel):
    """Token buckets: a sustained rate (requests per second) and a burst, per client IP and per caller.

    The party routes (transport, and a hosted runner's identity and parameter documents) have
    their own, far larger per-IP bucket: a job's parties exchange many envelopes a second during
    a protocol round and poll each other's readiness per job, and each envelope is authenticated
    by its sender's signature inside (compute), not by a request signature.
    """

    model_config = ConfigDict(frozen=True)

    ip_rate: float = Field(50.0, gt=0, description="Requests per second per client IP (API and explorer)")
    ip_burst: int = Field(200, ge=1, description="Burst per client IP")
    caller_rate: float = Field(30.0, gt=0, description="Signed requests per second per authenticated caller")
    caller_burst: int = Field(120, ge=1, description="Burst per authenticated caller")
    transport_rate: float = Field(2000.0, gt=0, description="Requests per second per IP on the party routes")
    transport_burst: int = Field(10_000, ge=1, description="Request burst per IP on the party routes")


class Settings(BaseModel):
    """What a gateway needs to know about its chain, its clock window, its limits and its state files."""

    model_config = ConfigDict(frozen=True)

    chain_id: int = Field(description="Chain id of the EIP-712 request domain")
    consortium: str = Field(description="Consortium contract address: the request domain's verifyingContract")
    operator: str | None = Field(None, description="The member address whose key the gateway holds")
    state_dir: Path = Field(description="Folder for the nonce store and other durable gateway state")
    freshness_seconds: int = Field(60, ge=1, description="How far a request's timestamp may be from now")
    membership_ttl_seconds: float = Field(
        5.0, ge=0, description="How long a membership answer is reused; a revoked member is refused within it"
    )
    session_ttl_seconds: int = Field(3600, ge=60, description="Lifetime of an explorer session")
    workspace: Path | None = Field(
        None, description="The job runner's workspace: result bundles are read from its results/ folder"
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body on every route but transport (413 beyond)"
    )
    max_json_depth: int = Field(32, ge=4, le=64, description="Deepest JSON nesting a request body may have")
    limits: RateLimits = Field(RateLimits(), description="Rate limits (429 with Retry-After)")
    secure_cookie: bool = Field(False, description="Mark the session cookie Secure (served over HTTPS)")

    @property
    def nonce_db(self) -> Path:
        """The SQLite file of used request nonces."""
        return self.state_dir / "nonces.sqlite3"

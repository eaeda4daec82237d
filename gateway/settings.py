"""The gateway's one settings object."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What a gateway needs to know about its chain, its clock window and its state files."""

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

    @property
    def nonce_db(self) -> Path:
        """The SQLite file of used request nonces."""
        return self.state_dir / "nonces.sqlite3"

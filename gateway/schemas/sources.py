"""Data source bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas.fields import Hash32, Uint64, Uint256


class SourceCreate(BaseModel):
    """Register a data source: schema, salted Merkle commitment over its rows, price and policy."""

    schema_hash: Hash32
    commitment: Hash32 = Field(description="Salted Merkle root over the rows (compute.jobs.commitment)")
    row_count: Uint64
    metadata_uri: str = Field(max_length=512)
    price_per_use: Uint256
    allowed_kinds: Uint256 = Field(description="Bitmask, bit k = job kind k")
    open_to_all_requesters: bool = True
    auto_consent_kinds: Uint256 = 0


class SourceRegisteredPublic(BaseModel):
    """A source just registered (version 1)."""

    source_id: int
    tx_hash: str


class SourcePublic(BaseModel):
    """A data source as the registry holds it now."""

    source_id: int
    owner: str
    active: bool
    open_to_all_requesters: bool
    version: int
    row_count: int
    schema_hash: str
    commitment: str
    price_per_use: int
    allowed_kinds: int
    auto_consent_kinds: int
    metadata_uri: str


class VersionCreate(BaseModel):
    """A new commitment version of a source (its rows changed)."""

    commitment: Hash32
    row_count: Uint64


class VersionPublic(BaseModel):
    """A commitment version just recorded."""

    source_id: int
    version: int
    tx_hash: str


class BudgetPublic(BaseModel):
    """A source's privacy budget now: ε and δ as exact decimals (the chain holds micro-ε and atto-δ)."""

    source_id: int
    epsilon_total: str
    epsilon_spent: str
    epsilon_reserved: str
    epsilon_remaining: str
    delta_total: str
    delta_spent: str
    delta_reserved: str
    delta_remaining: str
    exact_allowed: bool


class BudgetUpdate(BaseModel):
    """The owner's new budget: never below what is spent plus reserved (the contract refuses that)."""

    epsilon: str = Field(max_length=40, description="Total ε as a decimal, e.g. 8 or 0.5 (at most 6 decimals)")
    delta: str = Field(max_length=40, description="Total δ as a decimal, e.g. 1e-6 (at most 1)")
    exact_allowed: bool = Field(True, description="Whether jobs releasing exact (non-DP) results may use the source")

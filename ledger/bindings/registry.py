"""DataRegistry: register data sources, commit new versions, set terms and consent policy."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.bindings.base import ContractBinding, hash32
from ledger.client.sender import Receipt


@dataclass(frozen=True)
class SourceSpec:
    """What a provider registers: schema, salted row commitment, price and policy."""

    schema_hash: bytes
    commitment: bytes
    row_count: int
    metadata_uri: str
    price_per_use: int
    allowed_kinds: int
    open_to_all_requesters: bool = True
    auto_consent_kinds: int = 0


@dataclass(frozen=True)
class Source:
    """A registered source as the registry holds it now."""

    source_id: int
    owner: str
    active: bool
    open_to_all_requesters: bool
    version: int
    row_count: int
    schema_hash: bytes
    commitment: bytes
    price_per_use: int
    allowed_kinds: int
    auto_consent_kinds: int
    metadata_uri: str


@dataclass(frozen=True)
class Commitment:
    """One recorded version of a source's row commitment."""

    source_id: int
    version: int
    commitment: bytes
    row_count: int


@dataclass(frozen=True)
class Registered:
    """A source just registered (version 1)."""

    source_id: int
    receipt: Receipt


@dataclass(frozen=True)
class NewVersion:
    """A commitment version just recorded."""

    source_id: int
    version: int
    receipt: Receipt


class DataRegistry(ContractBinding):
    """The DataRegistry contract."""

    NAME = "DataRegistry"

    def register_source(self, spec: SourceSpec) -> Registered:
        """Register a source owned by the sender (PROVIDER role)."""
        receipt = self._send(
            "registerSource",
            (
                spec.schema_hash,
                spec.commitment,
                spec.row_count,
                spec.metadata_uri,
                spec.price_per_use,
                spec.allowed_kinds,
                spec.open_to_all_requesters,
                spec.auto_consent_kinds,
            ),
        )
        return Registered(self._one(receipt, "DataSourceRegistered")["sourceId"], receipt)

    def update_commitment(self, source_id: int, commitment: bytes, row_count: int) -> NewVersion:
        """Commit a new version of the rows."""
        receipt = self._send("updateCommitment", source_id, commitment, row_count)
        return NewVersion(source_id, self._one(receipt, "CommitmentUpdated")["version"], receipt)

    def set_terms(
        self,
        source_id: int,
        price_per_use: int,
        allowed_kinds: int,
        open_to_all_requesters: bool,
        auto_consent_kinds: int,
        metadata_uri: str,
    ) -> Receipt:
        """Change price, kinds, openness, auto-consent kinds and metadata."""
        return self._send(
            "setTerms",
            source_id,
            price_per_use,
            allowed_kinds,
            open_to_all_requesters,
            auto_consent_kinds,
            metadata_uri,
        )

    def set_requester_access(self, source_id: int, requester: str, allowed: bool) -> Receipt:
        """Allow or disallow one requester."""
        return self._send("setRequesterAccess", source_id, requester, allowed)

    def set_auto_consent(self, source_id: int, requester: str, enabled: bool) -> Receipt:
        """List or unlist a requester for automatic consent."""
        return self._send("setAutoConsent", source_id, requester, enabled)

    def retire_source(self, source_id: int) -> Receipt:
        """Retire the source: no new jobs may use it."""
        return self._send("retireSource", source_id)

    def source(self, source_id: int) -> Source:
        """The source's current state."""
        (owner, active, open_all, version, rows, schema, commitment, price, kinds, auto, uri) = self._call(
            "source", source_id
        )
        return Source(
            source_id,
            owner,
            active,
            open_all,
            version,
            rows,
            hash32(schema),
            hash32(commitment),
            price,
            kinds,
            auto,
            uri,
        )

    def source_count(self) -> int:
        """How many sources were ever registered."""
        return int(self._call("sourceCount"))

    def commitment_at(self, source_id: int, version: int) -> Commitment:
        """The row commitment recorded as `version` of the source (versions start at 1)."""
        root, rows = self._call("commitmentAt", source_id, version)
        return Commitment(source_id, version, hash32(root), rows)

"""Everything a request handler may call, built once per app and found on `app.state`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from compute.transport import MessageEndpoint
from gateway.audit import AuditReader
from gateway.auth import RequestDomain
from gateway.clock import Clock
from gateway.membership import MembershipLookup
from gateway.nonces import NonceStore
from gateway.progress import ProgressBus
from gateway.rate_limit import Throttle
from gateway.sessions import SessionStore
from gateway.settings import Settings
from ledger.bindings import Consortium, CustosToken, DataRegistry, JobLedger, PrivacyBudget, Settlement
from ledger.index import Position

if TYPE_CHECKING:  # the hosted runner module builds on these services: import its type for annotations only
    from gateway.hosted_runner import HostedRunner


@dataclass(frozen=True)
class LedgerHandles:
    """The contracts, bound to the operator's key: what write routes call (never raw transactions)."""

    operator: str
    consortium: Consortium
    registry: DataRegistry
    jobs: JobLedger
    settlement: Settlement
    token: CustosToken
    indexed: Callable[[], Position]
    privacy: PrivacyBudget  # sources' DP budgets (issue 20)


@dataclass
class GatewayServices:
    """The gateway's collaborators: clock, nonces, membership, progress, sessions, rate limits, mailboxes,
    and, with `--runner`, the organisation's job runner (whose mailboxes `transport` holds)."""

    settings: Settings
    clock: Clock
    nonces: NonceStore
    membership: MembershipLookup
    progress: ProgressBus
    sessions: SessionStore
    throttle: Throttle
    transport: MessageEndpoint = field(default_factory=MessageEndpoint)
    audit: AuditReader | None = None
    ledger: LedgerHandles | None = None
    runner: HostedRunner | None = None

    @property
    def domain(self) -> RequestDomain:
        """The EIP-712 domain requests to this gateway are signed in."""
        return RequestDomain(
            self.settings.chain_id, self.settings.consortium, self.settings.operator or "0x" + "00" * 20
        )

"""Everything a request handler may call, built once per app and found on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field

from compute.transport import MessageEndpoint

from gateway.audit import AuditReader
from gateway.auth import RequestDomain
from gateway.clock import Clock
from gateway.membership import MembershipLookup
from gateway.nonces import NonceStore
from gateway.progress import ProgressBus
from gateway.sessions import SessionStore
from gateway.settings import Settings


@dataclass
class GatewayServices:
    """The gateway's collaborators: clock, nonces, membership, progress, sessions, party mailboxes."""

    settings: Settings
    clock: Clock
    nonces: NonceStore
    membership: MembershipLookup
    progress: ProgressBus
    sessions: SessionStore
    transport: MessageEndpoint = field(default_factory=MessageEndpoint)
    audit: AuditReader | None = None

    @property
    def domain(self) -> RequestDomain:
        """The EIP-712 domain requests to this gateway are signed in."""
        return RequestDomain(self.settings.chain_id, self.settings.consortium)

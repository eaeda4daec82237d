"""In-process transport: envelopes go straight into the receiver's mailbox."""

from __future__ import annotations

from collections.abc import Mapping

from compute.errors import PartyUnreachable
from compute.party import Address
from compute.transport.base import Mailbox


class InProcessTransport:
    """Delivers to mailboxes held in this process, one per party."""

    def __init__(self, mailboxes: Mapping[Address, Mailbox]) -> None:
        self._mailboxes = mailboxes

    def deliver(self, receiver: Address, envelope: bytes) -> None:
        """Put `envelope` in `receiver`'s mailbox."""
        mailbox = self._mailboxes.get(receiver)
        if mailbox is None:
            raise PartyUnreachable(receiver, "deliver", "no mailbox for this party in this process")
        mailbox.put(envelope)

"""Party transport: a one-method backend that delivers sealed envelopes to a party's mailbox.

Two backends, the same interface (the shape of httpx's `BaseTransport.handle_request`):

- `InProcessTransport`: the mailboxes live in this process (tests, single-machine runs);
- `HttpTransport`: POSTs to each party's `MessageEndpoint`, which any ASGI server (or later
  the gateway) mounts; the endpoint's handler does not depend on the server.

A transport moves opaque bytes only. Signing, encryption, ordering and transcripts are the
`Channel`'s job (compute/channel.py), so a new backend needs just `deliver`:

    >>> from compute.party import Party
    >>> from compute.transport import InProcessTransport, Mailbox
    >>> alice, bob = Party.generate(), Party.generate()
    >>> mailboxes = {alice.address: Mailbox(), bob.address: Mailbox()}
    >>> transport = InProcessTransport(mailboxes)
    >>> transport.deliver(bob.address, b"sealed envelope bytes")
    >>> mailboxes[bob.address].get(timeout=1.0)
    b'sealed envelope bytes'
"""

from __future__ import annotations

from compute.transport.base import Mailbox, Transport
from compute.transport.endpoint import MessageEndpoint, serve_endpoint
from compute.transport.http import HttpTransport
from compute.transport.inprocess import InProcessTransport

__all__ = ["HttpTransport", "InProcessTransport", "Mailbox", "MessageEndpoint", "Transport", "serve_endpoint"]

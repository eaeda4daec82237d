"""POST /custos/v1/messages: the party transport mounted in the gateway, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from compute.envelope import Header, open_payload, parse, seal
from compute.errors import PartyUnreachable
from compute.party import Party
from compute.transport import HttpTransport, Mailbox

from .conftest import Gateway


def test_party_envelope_reaches_the_hosted_mailbox(gateway: Gateway) -> None:
    alice, bob, mailbox = Party.generate(), Party.generate(), Mailbox()
    gateway.services.transport.register(5, bob.address, mailbox)
    envelope = seal(alice, bob.identity, Header(5, alice.address, bob.address, 0, "psi/round1"), b"blinded set")
    HttpTransport({bob.address: gateway.url}).deliver(bob.address, envelope)
    received = mailbox.get(timeout=5)
    assert received == envelope
    assert open_payload(bob, alice.identity, parse(received)) == b"blinded set"


def test_envelope_for_a_party_not_hosted_here_is_a_json_404(gateway: Gateway) -> None:
    alice, carol = Party.generate(), Party.generate()
    envelope = seal(alice, carol.identity, Header(6, alice.address, carol.address, 0, "psi/round1"), b"x")
    response = httpx.post(gateway.url + "/custos/v1/messages", content=envelope)
    assert response.status_code == 404
    assert response.json()["code"] == "transport.no_mailbox"
    with pytest.raises(PartyUnreachable):
        HttpTransport({carol.address: gateway.url}).deliver(carol.address, envelope)


def test_garbage_envelope_is_a_json_400(gateway: Gateway) -> None:
    response = httpx.post(gateway.url + "/custos/v1/messages", content=b"not an envelope")
    assert response.status_code == 400
    assert response.json()["code"] == "transport.malformed"

"""ledger.deploy's pure parts: config checks and nonce-predicted addresses (deployment.json: test_deployment.py)."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from ledger.deploy import ConsortiumConfig, MemberSpec, config_for_members, create_address
from ledger.errors import DeploymentError

ALICE = "0x" + "a1" * 20


def test_create_address_matches_known_vector() -> None:
    # The first contract deployed by anvil's default account 0 (a widely published vector).
    assert create_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 0) == to_checksum_address(
        "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"members": (), "threshold": 1}, "at least one"),
        ({"members": (MemberSpec(ALICE, 1, "a"),), "threshold": 2}, "threshold 2"),
        ({"members": (MemberSpec(ALICE, 1, "a"),), "threshold": 1, "fee_bps": 3_001}, "fee 3001"),
        ({"members": (MemberSpec(ALICE, 1, "a"),), "threshold": 1, "proposal_ttl": 31 * 86_400}, "TTL"),
        ({"members": (MemberSpec(ALICE, 1, "a"),), "threshold": 1, "challenge_window": 31 * 86_400}, "window"),
        ({"members": (MemberSpec(ALICE, 32, "a"),), "threshold": 1}, "role bits 32"),
        ({"members": (MemberSpec(ALICE, 1, "a"),), "threshold": 1, "proposal_ttl": 0}, "TTL"),
    ],
)
def test_config_rejects_bad_bootstrap(kwargs: dict, message: str) -> None:
    with pytest.raises(DeploymentError, match=message):
        ConsortiumConfig(**kwargs)


def test_config_for_members_uses_majority_threshold() -> None:
    config = config_for_members([(ALICE, 3), ("0x" + "b2" * 20, 4, "Bureau"), ("0x" + "c3" * 20, 8)])
    assert config.threshold == 2
    assert [m.name for m in config.members] == ["member-0", "Bureau", "member-2"]

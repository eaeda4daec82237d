"""Reading `to` and calldata from a raw transaction of each type the chain accepts."""

from __future__ import annotations

import pytest
from eth_account import Account

from ledger.audit.opening import _to_and_data

TO = "0x1B1b1B1B1B1B1B1B1b1b1B1B1b1b1B1B1b1b1B1b"  # eth-account wants the checksummed form
DATA = bytes.fromhex("deadbeef") + b"\x01" * 64
COMMON = {"nonce": 3, "gas": 100_000, "to": TO, "value": 0, "data": DATA, "chainId": 1337}


@pytest.mark.parametrize(
    "fees",
    [{"gasPrice": 1}, {"gasPrice": 1, "accessList": []}, {"maxFeePerGas": 2, "maxPriorityFeePerGas": 1}],
    ids=["legacy", "eip-2930", "eip-1559"],
)
def test_to_and_calldata_come_from_each_transaction_type(fees: dict[str, object]) -> None:
    raw = bytes(Account.create().sign_transaction({**COMMON, **fees}).raw_transaction)
    assert _to_and_data(raw) == (bytes.fromhex(TO[2:].lower()), DATA)


def test_an_unknown_transaction_type_is_not_read() -> None:
    assert _to_and_data(b"\x05" + b"\xc0") is None
    assert _to_and_data(b"") is None

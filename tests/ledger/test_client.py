"""The transaction sender against a real anvil: nonces, reverts, timeouts, connection checks."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from web3 import Web3

from ledger.artifacts import load
from ledger.client import Receipt, TransactionSender, connect
from ledger.client.revert import BeaconZeroStep, decode_revert, revert_error
from ledger.errors import ConnectionFailed, ContractRevert, RevertWithReason, TransactionTimeout
from tests.ledger.audit.anvil import anvil, free_port, funded_account

BEACON = Web3().eth.contract(abi=load("Beacon").abi)


def ping(step: int) -> bytes:
    return bytes.fromhex(BEACON.encode_abi("ping", [step])[2:])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with anvil() as rpc_url:
        yield rpc_url


@pytest.fixture
def sender(url: str) -> TransactionSender:
    w3 = connect(url)
    return TransactionSender(w3, funded_account(w3), receipt_timeout=30)


@pytest.fixture
def beacon(sender: TransactionSender) -> str:
    receipt = sender.deploy(load("Beacon").bytecode)
    assert receipt.contract_address is not None
    return receipt.contract_address


def test_hundred_concurrent_submissions_get_consecutive_nonces_and_all_mine(sender, beacon) -> None:
    start = sender.w3.eth.get_transaction_count(sender.address)
    with ThreadPoolExecutor(max_workers=100) as pool:
        receipts = list(pool.map(lambda _: sender.transact(beacon, ping(1)), range(100)))
    nonces = sorted(sender.w3.eth.get_transaction(r.tx_hash)["nonce"] for r in receipts)
    assert nonces == list(range(start, start + 100))
    assert all(isinstance(r, Receipt) and r.status == 1 for r in receipts)
    assert int.from_bytes(sender.call(beacon, bytes.fromhex(BEACON.encode_abi("count", [])[2:])), "big") == 100


def test_custom_error_raises_exception_named_after_it(sender, beacon) -> None:
    with pytest.raises(BeaconZeroStep) as caught:
        sender.transact(beacon, ping(0))
    assert type(caught.value).__name__ == "BeaconZeroStep"
    assert isinstance(caught.value, ContractRevert) and caught.value.receipt is None


def test_mined_revert_is_decoded_with_its_receipt(sender, beacon) -> None:
    with pytest.raises(BeaconZeroStep) as caught:
        sender.transact(beacon, ping(0), gas=100_000)  # explicit gas: no estimate, so it is mined and fails
    assert caught.value.receipt is not None and caught.value.receipt.status == 0


def test_nonce_resyncs_after_the_account_is_used_elsewhere(sender, beacon) -> None:
    sender.transact(beacon, ping(1))
    other = TransactionSender(sender.w3, sender.account)
    other.transact(beacon, ping(1))
    assert sender.transact(beacon, ping(1)).status == 1  # its cached nonce was stale: re-read, re-signed


def test_receipt_wait_times_out_when_nothing_is_mined(sender, beacon) -> None:
    sender.w3.provider.make_request("evm_setAutomine", [False])
    try:
        tx_hash = sender.submit(beacon, ping(1), gas=100_000)
        with pytest.raises(TransactionTimeout) as caught:
            sender.wait(tx_hash, timeout=0.3)
        assert caught.value.tx_hash == tx_hash
    finally:
        sender.w3.provider.make_request("evm_setAutomine", [True])
    sender.w3.provider.make_request("evm_mine", [])
    assert sender.wait(tx_hash).status == 1


def test_revert_decoding_covers_reason_strings_and_unknown_selectors() -> None:
    reason = bytes.fromhex("08c379a0") + bytes.fromhex(
        "0000000000000000000000000000000000000000000000000000000000000020"
        "0000000000000000000000000000000000000000000000000000000000000002") + b"no" + b"\0" * 30
    assert isinstance(decode_revert(reason), RevertWithReason)
    assert decode_revert(reason).arguments == {"reason": "no"}
    unknown = decode_revert(b"\xde\xad\xbe\xef")
    assert type(unknown) is ContractRevert and unknown.data == b"\xde\xad\xbe\xef"
    assert revert_error("BeaconZeroStep") is BeaconZeroStep


def test_connect_rejects_unreachable_node_and_wrong_chain(url: str) -> None:
    with pytest.raises(ConnectionFailed, match="reach the node"):
        connect(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(ConnectionFailed, match="expected chain 5"):
        connect(url, chain_id=5)
    with pytest.raises(ConnectionFailed, match="not a JSON-RPC URL"):
        connect("localhost:8545")

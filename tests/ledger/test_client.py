"""The transaction sender against a real anvil: nonces, reverts, timeouts, connection checks."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from web3 import Web3

from ledger.artifacts import load
from ledger.client import TransactionSender, connect
from ledger.client.revert import BeaconZeroStep, decode_revert, revert_error
from ledger.errors import ConnectionFailed, ContractRevert, RevertWithReason, TransactionTimeout
from tests.ledger.audit.anvil import anvil, funded_account, nowhere_url

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
    reason = (
        bytes.fromhex("08c379a0")
        + bytes.fromhex(
            "0000000000000000000000000000000000000000000000000000000000000020"
            "0000000000000000000000000000000000000000000000000000000000000002"
        )
        + b"no"
        + b"\0" * 30
    )
    assert isinstance(decode_revert(reason), RevertWithReason)
    assert decode_revert(reason).arguments == {"reason": "no"}
    unknown = decode_revert(b"\xde\xad\xbe\xef")
    assert type(unknown) is ContractRevert and unknown.data == b"\xde\xad\xbe\xef"
    assert revert_error("BeaconZeroStep") is BeaconZeroStep


def test_connect_rejects_unreachable_node_and_wrong_chain(url: str) -> None:
    with pytest.raises(ConnectionFailed, match="reach the node"):
        connect(nowhere_url(), timeout=1)
    with pytest.raises(ConnectionFailed, match="expected chain 5"):
        connect(url, chain_id=5)
    with pytest.raises(ConnectionFailed, match="not a JSON-RPC URL"):
        connect("localhost:8545")


class LosingProxy:
    """A loopback HTTP proxy to the node that forwards the first transaction but drops the answer."""

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        import requests

        self.dropped = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = requests.post(upstream, data=body, headers={"Content-Type": "application/json"}, timeout=10)
                if b"eth_sendRawTransaction" in body and proxy.dropped == 0:
                    proxy.dropped += 1
                    self.close_connection = True  # the node has it; the client never hears back
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_lost_answer_to_a_send_is_retried_without_a_second_transaction(url: str) -> None:
    proxy = LosingProxy(url)
    try:
        w3 = connect(proxy.url)
        sender = TransactionSender(w3, funded_account(w3))
        receipt = sender.deploy(load("Beacon").bytecode)
        assert proxy.dropped == 1 and receipt.status == 1
        assert w3.eth.get_transaction_count(sender.address) == 1  # sent once, mined once
        assert sender.transact(receipt.contract_address, ping(1)).status == 1  # the next nonce is right
    finally:
        proxy.server.shutdown()


def test_hundred_concurrent_submissions_are_mined_on_every_backend(chain) -> None:
    sender = TransactionSender(connect(chain.w3), chain.accounts[6], receipt_timeout=120)
    beacon = sender.deploy(load("Beacon").bytecode).contract_address
    start = sender.w3.eth.get_transaction_count(sender.address)
    with ThreadPoolExecutor(max_workers=100) as pool:
        receipts = list(pool.map(lambda _: sender.transact(beacon, ping(1), gas=80_000), range(100)))
    nonces = sorted(sender.w3.eth.get_transaction(r.tx_hash)["nonce"] for r in receipts)
    assert nonces == list(range(start, start + 100)) and all(r.status == 1 for r in receipts)
    count = BEACON.encode_abi("count", [])
    assert int.from_bytes(sender.call(beacon, bytes.fromhex(count[2:])), "big") == 100


def test_client_gives_one_sender_per_account_from_the_keystore(url: str, tmp_path) -> None:
    from eth_account import Account

    from ledger.client import Client, unlock
    from ledger.deployment import CONTRACTS, Deployment
    from ledger.errors import KeystoreError
    from ledger.keystore import Keystore

    key = Account.create().key
    Keystore(tmp_path / "keys").save("auditor", key, "pw", scrypt_n=2)
    account = unlock(tmp_path / "keys", "auditor", "pw")
    assert account.key == key
    with pytest.raises(KeystoreError, match="wrong password"):
        unlock(tmp_path / "keys", "auditor", "not-pw")
    anywhere = dict.fromkeys(CONTRACTS, "0x" + "11" * 20)  # the client only checks the chain id
    client = Client.open(url, Deployment(31337, anywhere))
    assert client.sender(account) is client.sender(unlock(tmp_path / "keys", "auditor", "pw"))
    with pytest.raises(ConnectionFailed, match="expected chain 1"):
        Client.open(url, Deployment(1, anywhere))

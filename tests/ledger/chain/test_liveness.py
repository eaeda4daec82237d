"""One member cannot halt block production: bad transactions are dropped with a reason, the base fee stays 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import ValidationError

from ledger.chain.building import Candidate
from ledger.chain.chainspec import CustosVM
from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from ledger.deploy import create_address
from tests.ledger.chain.conftest import CHAIN_ID, MEMBERS, ChainDir, signed
from tests.waiting import wait_for

BALANCE = 10**24
# Initcode returning the one-byte runtime INVALID (0xfe): any call to it burns all its gas at once.
BURNER_INITCODE = bytes.fromhex("60fe60005360016000f3")


def transfer(acct: LocalAccount, nonce: int, value: int, to: str) -> bytes:
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "gas": 21_000, "gasPrice": 0, "to": to, "value": value}
    return acct.sign_transaction(tx).raw_transaction


def rpc(url: str, method: str, params: list) -> dict:
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30).json()


def receipt_within(url: str, tx_hash: str, seconds: float) -> dict:
    receipt: dict = wait_for(
        lambda: rpc(url, "eth_getTransactionReceipt", [tx_hash])["result"],
        seconds,
        f"a receipt for {tx_hash} (the chain must keep sealing)",
        poll=0.01,
    )
    return receipt


class Serving:
    """A node served over HTTP that a test can restart."""

    def __init__(self, path: Path, chain: ChainDir) -> None:
        self.path, self.chain = path, chain
        self.node = Node.open(path, chain.validator)
        self.server = ChainServer(self.node, port=0)
        self.server.start()

    @property
    def url(self) -> str:
        return self.server.url

    def restart(self) -> None:
        self.close()
        self.node = Node.open(self.path, self.chain.validator)
        self.server = ChainServer(self.node, port=0)
        self.server.start()

    def close(self) -> None:
        self.server.stop()
        self.node.close()


@pytest.fixture
def serving(chain_dir: ChainDir) -> Iterator[Serving]:
    running = Serving(chain_dir.path, chain_dir)
    yield running
    running.close()


def seals_new_transactions(serving: Serving, nonce: int) -> None:
    """A bystander's transfer gets a receipt within 2 s, now and after a restart."""
    for attempt in range(2):
        raw = transfer(MEMBERS[2], nonce + attempt, 1, MEMBERS[1].address)
        tx_hash = rpc(serving.url, "eth_sendRawTransaction", ["0x" + raw.hex()])["result"]
        assert receipt_within(serving.url, tx_hash, 2.0)["status"] == "0x1"
        serving.restart()


def test_two_transfers_of_60_percent_in_one_batch_do_not_stop_sealing(serving: Serving) -> None:
    greedy = MEMBERS[0]
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
        for i, raw in enumerate(transfer(greedy, n, BALANCE * 6 // 10, MEMBERS[1].address) for n in range(2))
    ]
    first, second = httpx.post(serving.url, json=batch, timeout=30).json()
    assert "result" in first
    assert second["error"]["code"] == -32000 and "already pending from this sender" in second["error"]["message"]
    assert receipt_within(serving.url, first["result"], 2.0)["status"] == "0x1"
    seals_new_transactions(serving, 0)


def test_a_burner_above_the_gas_target_leaves_the_base_fee_at_zero(serving: Serving) -> None:
    burner = MEMBERS[0]
    rpc(serving.url, "eth_sendRawTransaction", ["0x" + signed(burner, 0, None, BURNER_INITCODE, gas=100_000).hex()])
    burn = signed(burner, 1, create_address(burner.address, 0), b"", gas=31_000_000)
    tx_hash = rpc(serving.url, "eth_sendRawTransaction", ["0x" + burn.hex()])["result"]
    receipt = receipt_within(serving.url, tx_hash, 30.0)
    assert receipt["status"] == "0x0" and int(receipt["gasUsed"], 16) == 31_000_000
    head = rpc(serving.url, "eth_getBlockByNumber", ["latest", False])["result"]
    assert head["baseFeePerGas"] == "0x0" and rpc(serving.url, "eth_gasPrice", [])["result"] == "0x0"
    history = rpc(serving.url, "eth_feeHistory", ["0x4", "latest", []])["result"]
    assert set(history["baseFeePerGas"]) == {"0x0"}
    seals_new_transactions(serving, 0)


def test_a_header_with_a_nonzero_base_fee_is_invalid(node: Node) -> None:
    node.submit_raw(transfer(MEMBERS[0], 0, 1, MEMBERS[1].address))
    parent, header = node.header_by_number(0), node.head
    CustosVM.validate_header(header, parent)
    with pytest.raises(ValidationError, match="fixes it at 0"):
        CustosVM.validate_header(header.copy(base_fee_per_gas=1), parent)


def test_a_transaction_that_fails_in_the_block_is_dropped_with_its_reason(node: Node) -> None:
    # Both were admitted elsewhere (another node's pool, a stale check): the second cannot pay.
    spender = MEMBERS[0]
    first, second = (
        node.chain.get_vm()
        .get_transaction_builder()
        .decode(transfer(spender, n, BALANCE * 6 // 10, MEMBERS[1].address))
        for n in range(2)
    )
    built = node.build([Candidate(first, first.sender), Candidate(second, second.sender)])
    node.store.rollback()
    assert [tx.hash for tx in built.block.transactions] == [first.hash]
    assert [d.tx_hash for d in built.dropped] == [second.hash] and "not have enough balance" in built.dropped[0].reason
    node.pool.add(first, first.sender)
    node.pool.add(second, second.sender)
    header = node.produce_block()
    assert header is not None and header.block_number == 1
    from ledger.chain.rpc import RPCServer

    rpc_server = RPCServer(node)
    status = rpc_server.handle(
        {"jsonrpc": "2.0", "id": 1, "method": "custos_txStatus", "params": ["0x" + second.hash.hex()]}
    )
    assert status["result"]["status"] == "dropped" and "not have enough balance" in status["result"]["reason"]
    receipt = rpc_server.handle(
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getTransactionReceipt", "params": ["0x" + second.hash.hex()]}
    )
    assert receipt["result"] is None
    node.submit_raw(transfer(MEMBERS[2], 0, 1, MEMBERS[1].address))
    assert node.head.block_number == 2

"""The JSON-RPC methods the node serves: what web3.py, ethers.js and cast call, plus custos_*."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eth.abc import BlockHeaderAPI
from eth.exceptions import HeaderNotFound
from eth_utils import keccak

from ledger.chain.encoding import addr, block_json, d, effective_gas_price, header_json, q, receipt_json, tx_json
from ledger.chain.filters import Filters
from ledger.chain.inspect_methods import InspectMethods
from ledger.chain.log_methods import LogMethods
from ledger.chain.params import (
    BlockRef,
    InvalidParams,
    address,
    arity,
    block_ref,
    boolean,
    call_args,
    data,
    hash32,
    quantity,
    slot,
)
from ledger.chain.pool_methods import PoolMethods

if TYPE_CHECKING:
    from ledger.chain.node import Node

CLIENT_VERSION = "custos-chain/0.1.0/py-evm-0.12"
MAX_FEE_HISTORY = 1024
# How long a receipt query for a pending transaction waits for its block (see Node.wait_while_pending).
RECEIPT_WAIT = 1.0
# At most this many receipt queries wait at once (the rest answer null at once): waiting
# must not occupy every read worker, or a bystander's eth_blockNumber would queue behind.
_WAITERS = threading.BoundedSemaphore(3)


class Methods(PoolMethods, InspectMethods, LogMethods):
    """Method name → handler(params) for one node; each request reads one snapshot (`reading`)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._local = threading.local()
        self.filters = Filters()
        self.table: dict[str, Callable[[list[Any]], Any]] = {
            name[len("rpc_") :]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }

    @property
    def node(self) -> Any:
        """The read snapshot of the request being served on this thread (the live node outside one)."""
        return getattr(self._local, "view", None) or self._node

    @property
    def client(self) -> str:
        """Who sent the request being served (its IP address; "" in-process)."""
        return getattr(self._local, "client", "")

    @contextmanager
    def reading(self, client: str = "") -> Iterator[None]:
        """Serve the requests inside on one consistent snapshot of the last commit, without the node's lock."""
        self._local.client = client
        self._local.view = self._node.read_view()
        try:
            yield
        finally:
            self._local.view.close()
            self._local.view = None

    def _refresh(self) -> None:
        """Move this request to a snapshot of the newest commit."""
        self._local.view.close()
        self._local.view = self._node.read_view()

    # -- blocks --
    def _header(self, raw: Any, name: str = "block") -> BlockHeaderAPI:
        return self._resolve(block_ref(raw, name), name)

    def _resolve(self, ref: BlockRef, name: str) -> BlockHeaderAPI:
        node = self.node
        try:
            if ref.hash is not None:
                return node.chain.chaindb.get_block_header_by_hash(ref.hash)
            if ref.tag == "earliest":
                return node.header_by_number(0)
            if ref.tag is not None:
                return node.head
            return node.header_by_number(ref.number)
        except HeaderNotFound:
            raise InvalidParams(f"{name}: header not found") from None

    def _header_or_none(self, raw: Any, name: str = "block") -> BlockHeaderAPI | None:
        """Like _header, but an unknown number or hash is None (clients expect null, not an error)."""
        ref = block_ref(raw, name)
        if ref.number is not None and ref.number > self.node.head.block_number:
            return None
        try:
            return self._header(raw, name)
        except InvalidParams:
            if ref.hash is not None:
                return None
            raise

    def rpc_eth_blockNumber(self, params: list[Any]) -> str:
        arity(params, 0)
        return q(self.node.head.block_number)

    def rpc_eth_getBlockByNumber(self, params: list[Any]) -> Any:
        ref, full = arity(params, 2)
        if ref == "pending":
            return self._pending_block(boolean(full, "full"))
        header = self._header_or_none(ref)
        return None if header is None else block_json(self.node.block(header), boolean(full, "full"))

    def _pending_block(self, full: bool) -> dict[str, Any]:
        """The block being gathered: the head's successor holding the pool's next transactions (geth's shape).

        Its hash, nonce and roots are unknown until it is sealed: hash and nonce are null, the
        roots are the head's.
        """
        head = self.node.head
        pending, _ = self._split()
        out = header_json(head)
        out.update(
            number=q(head.block_number + 1),
            hash=None,
            nonce=None,
            parentHash=d(head.hash),
            timestamp=q(max(int(time.time()), head.timestamp)),
            gasUsed=q(0),
            uncles=[],
            withdrawals=[],
            size=q(0),
        )
        out["transactions"] = [tx_json(e.tx, None, None) if full else d(e.tx.hash) for e in pending]
        return out

    def rpc_eth_getBlockByHash(self, params: list[Any]) -> Any:
        raw, full = arity(params, 2)
        try:
            header = self.node.chain.chaindb.get_block_header_by_hash(hash32(raw, "blockHash"))
        except HeaderNotFound:
            return None
        return block_json(self.node.block(header), boolean(full, "full"))

    def rpc_eth_getBlockTransactionCountByNumber(self, params: list[Any]) -> Any:
        (ref,) = arity(params, 1)
        header = self._header_or_none(ref)
        return None if header is None else q(len(self.node.block(header).transactions))

    def rpc_eth_getBlockTransactionCountByHash(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        return self.rpc_eth_getBlockTransactionCountByNumber([{"blockHash": raw}])

    def rpc_eth_getBlockReceipts(self, params: list[Any]) -> Any:
        (ref,) = arity(params, 1)
        header = self._header_or_none(ref)
        if header is None:
            return None
        block = self.node.block(header)
        return [receipt_json(self.node, block, i) for i in range(len(block.transactions))]

    # -- transactions --
    def _locate(self, tx_hash: bytes) -> tuple[Any, int] | None:
        return self.node.locate(tx_hash)

    def rpc_eth_getTransactionByHash(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        tx_hash = hash32(raw, "transactionHash")
        found = self._locate(tx_hash)
        if found is not None:
            block, index = found
            return tx_json(block.transactions[index], block.header, index)
        pending = self.node.pool.get(tx_hash)
        return None if pending is None else tx_json(pending.tx, None, None)

    def _tx_at(self, header: BlockHeaderAPI | None, raw_index: Any) -> Any:
        index = quantity(raw_index, "index")
        if header is None:
            return None
        block = self.node.block(header)
        return tx_json(block.transactions[index], header, index) if index < len(block.transactions) else None

    def rpc_eth_getTransactionByBlockNumberAndIndex(self, params: list[Any]) -> Any:
        ref, index = arity(params, 2)
        return self._tx_at(self._header_or_none(ref), index)

    def rpc_eth_getTransactionByBlockHashAndIndex(self, params: list[Any]) -> Any:
        raw, index = arity(params, 2)
        return self._tx_at(self._header_or_none({"blockHash": raw}), index)

    def rpc_eth_getTransactionReceipt(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        tx_hash = hash32(raw, "transactionHash")
        found = self._locate(tx_hash)
        if found is None and self._node.pool.get(tx_hash) is not None and _WAITERS.acquire(blocking=False):
            try:
                self._node.wait_while_pending(tx_hash, RECEIPT_WAIT)
            finally:
                _WAITERS.release()
            self._refresh()
            found = self._locate(tx_hash)
        return None if found is None else receipt_json(self.node, *found)

    def rpc_eth_sendRawTransaction(self, params: list[Any]) -> str:
        (raw,) = arity(params, 1)
        return d(self.node.submit_raw(data(raw, "transaction")))

    def rpc_eth_sendTransaction(self, params: list[Any]) -> Any:
        raise InvalidParams("this node holds no accounts: sign locally and use eth_sendRawTransaction")

    # -- state --
    def _state(self, ref: Any) -> Any:
        return self.node.chain.get_vm(self._header(ref)).state

    def rpc_eth_getBalance(self, params: list[Any]) -> str:
        who, ref = arity(params, 1, 1)
        return q(self._state(ref).get_balance(address(who, "address")))

    def rpc_eth_getTransactionCount(self, params: list[Any]) -> str:
        who, ref = arity(params, 1, 1)
        sender = address(who, "address")
        nonce = self._state(ref).get_nonce(sender)
        if ref == "pending":
            nonce = self.node.pool.next_nonce(sender, nonce)
        return q(nonce)

    def rpc_eth_getCode(self, params: list[Any]) -> str:
        who, ref = arity(params, 1, 1)
        return d(self._state(ref).get_code(address(who, "address")))

    def rpc_eth_getStorageAt(self, params: list[Any]) -> str:
        who, slot_raw, ref = arity(params, 2, 1)
        account = address(who, "address")
        position = slot(slot_raw, "slot")
        return d(self._state(ref).get_storage(account, position).to_bytes(32, "big"))

    def rpc_eth_call(self, params: list[Any]) -> str:
        tx, ref, _overrides = arity(params, 1, 2)
        args = call_args(tx)
        header = self._header(ref)
        return d(self.node.executor.call(args.sender, args.to, args.data, args.value, args.gas, header))

    def rpc_eth_estimateGas(self, params: list[Any]) -> str:
        tx, ref = arity(params, 1, 1)
        args = call_args(tx)
        header = self._header(ref)
        return q(self.node.executor.estimate_gas(args.sender, args.to, args.data, args.value, header))

    # -- fees (see chainspec: base fee stays 0) --
    def rpc_eth_gasPrice(self, params: list[Any]) -> str:
        arity(params, 0)
        return q(self.node.head.base_fee_per_gas)

    def rpc_eth_maxPriorityFeePerGas(self, params: list[Any]) -> str:
        arity(params, 0)
        return "0x0"

    def rpc_eth_blobBaseFee(self, params: list[Any]) -> str:
        arity(params, 0)
        return "0x1"

    def rpc_eth_feeHistory(self, params: list[Any]) -> dict[str, Any]:
        count_raw, newest_raw, percentiles = arity(params, 2, 1)
        count = (
            count_raw
            if isinstance(count_raw, int) and not isinstance(count_raw, bool)
            else quantity(count_raw, "blockCount")
        )
        percentiles = percentiles or []
        if not isinstance(percentiles, list) or not all(isinstance(p, (int, float)) for p in percentiles):
            raise InvalidParams("rewardPercentiles: expected an array of numbers")
        newest = self._header(newest_raw, "newestBlock")
        first = max(0, newest.block_number - min(count, MAX_FEE_HISTORY) + 1)
        headers = [self.node.header_by_number(n) for n in range(first, newest.block_number + 1)]
        out: dict[str, Any] = {
            "oldestBlock": q(first),
            "baseFeePerGas": [q(h.base_fee_per_gas) for h in headers] + [q(0)],
            "gasUsedRatio": [h.gas_used / h.gas_limit for h in headers],
            "baseFeePerBlobGas": [q(1)] * (len(headers) + 1),
            "blobGasUsedRatio": [0.0] * len(headers),
        }
        if percentiles:
            out["reward"] = [self._rewards(h, percentiles) for h in headers]
        return out

    def _rewards(self, header: BlockHeaderAPI, percentiles: list[float]) -> list[str]:
        tips = sorted(
            effective_gas_price(tx, header.base_fee_per_gas) - header.base_fee_per_gas  # type: ignore[operator]  # Cancun headers always have a base fee
            for tx in self.node.block(header).transactions
        )
        if not tips:
            return [q(0)] * len(percentiles)
        return [q(tips[min(len(tips) - 1, int(len(tips) * p / 100))]) for p in percentiles]

    # -- node --
    def rpc_eth_chainId(self, params: list[Any]) -> str:
        arity(params, 0)
        return q(self.node.chain_id)

    def rpc_net_version(self, params: list[Any]) -> str:
        arity(params, 0)
        return str(self.node.chain_id)

    def rpc_net_listening(self, params: list[Any]) -> bool:
        arity(params, 0)
        return True

    def rpc_net_peerCount(self, params: list[Any]) -> str:
        arity(params, 0)
        return "0x0"

    def rpc_web3_clientVersion(self, params: list[Any]) -> str:
        arity(params, 0)
        return CLIENT_VERSION

    def rpc_web3_sha3(self, params: list[Any]) -> str:
        (raw,) = arity(params, 1)
        return d(keccak(data(raw, "data")))

    def rpc_eth_syncing(self, params: list[Any]) -> bool:
        arity(params, 0)
        return False

    def rpc_eth_accounts(self, params: list[Any]) -> list[str]:
        arity(params, 0)
        return []

    def rpc_eth_coinbase(self, params: list[Any]) -> str:
        arity(params, 0)
        return addr(self.node.validator_address or b"\x00" * 20)

    def rpc_eth_mining(self, params: list[Any]) -> bool:
        arity(params, 0)
        return self.node.validator_address is not None

    def rpc_custos_validators(self, params: list[Any]) -> list[str]:
        arity(params, 0)
        return [addr(v) for v in self.node.spec.validators]

    def rpc_custos_getBlockSeal(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        seal = self.node.seal_of(hash32(raw, "blockHash"))
        return None if seal is None else d(seal)

    def rpc_debug_getRawBlock(self, params: list[Any]) -> Any:
        """geth's debug_getRawBlock: the block's RLP (with custos_getBlockSeal, enough to verify it)."""
        (ref,) = arity(params, 1)
        header = self._header_or_none(ref)
        return None if header is None else d(self.node.raw_block(header))

    def rpc_custos_membership(self, params: list[Any]) -> Any:
        arity(params, 0)
        member = self.node.membership
        return None if member is None else addr(member)

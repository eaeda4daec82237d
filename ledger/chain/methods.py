"""The JSON-RPC methods the node serves: what web3.py, ethers.js and cast call, plus custos_*."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eth.abc import BlockHeaderAPI
from eth.exceptions import HeaderNotFound
from eth_utils import keccak

from ledger.chain.encoding import addr, block_json, d, effective_gas_price, q, receipt_json, tx_json
from ledger.chain.filters import Filters, block_hashes, log_query, logs_in_block, logs_in_range
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
)

if TYPE_CHECKING:
    from ledger.chain.node import Node

CLIENT_VERSION = "custos-chain/0.1.0/py-evm-0.12"
MAX_FEE_HISTORY = 1024


class Methods:
    """Method name → handler(params) for one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.filters = Filters()
        self.table: dict[str, Callable[[list[Any]], Any]] = {
            name[len("rpc_") :]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }

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
        with self.node.lock:
            header = self._header_or_none(ref)
            return None if header is None else block_json(self.node.block(header), boolean(full, "full"))

    def rpc_eth_getBlockByHash(self, params: list[Any]) -> Any:
        raw, full = arity(params, 2)
        with self.node.lock:
            try:
                header = self.node.chain.chaindb.get_block_header_by_hash(hash32(raw, "blockHash"))
            except HeaderNotFound:
                return None
            return block_json(self.node.block(header), boolean(full, "full"))

    def rpc_eth_getBlockTransactionCountByNumber(self, params: list[Any]) -> Any:
        (ref,) = arity(params, 1)
        with self.node.lock:
            header = self._header_or_none(ref)
            return None if header is None else q(len(self.node.block(header).transactions))

    def rpc_eth_getBlockTransactionCountByHash(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        return self.rpc_eth_getBlockTransactionCountByNumber([{"blockHash": raw}])

    def rpc_eth_getBlockReceipts(self, params: list[Any]) -> Any:
        (ref,) = arity(params, 1)
        with self.node.lock:
            header = self._header_or_none(ref)
            if header is None:
                return None
            block = self.node.block(header)
            return [receipt_json(self.node, block, i) for i in range(len(block.transactions))]

    # -- transactions --
    def _locate(self, tx_hash: bytes) -> tuple[Any, int] | None:
        try:
            number, index = self.node.chain.chaindb.get_transaction_index(tx_hash)
        except Exception:  # noqa: BLE001 — TransactionNotFound
            return None
        return self.node.block(self.node.header_by_number(number)), index

    def rpc_eth_getTransactionByHash(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        tx_hash = hash32(raw, "transactionHash")
        with self.node.lock:
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
        with self.node.lock:
            return self._tx_at(self._header_or_none(ref), index)

    def rpc_eth_getTransactionByBlockHashAndIndex(self, params: list[Any]) -> Any:
        raw, index = arity(params, 2)
        with self.node.lock:
            return self._tx_at(self._header_or_none({"blockHash": raw}), index)

    def rpc_eth_getTransactionReceipt(self, params: list[Any]) -> Any:
        (raw,) = arity(params, 1)
        with self.node.lock:
            found = self._locate(hash32(raw, "transactionHash"))
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
        with self.node.lock:
            return q(self._state(ref).get_balance(address(who, "address")))

    def rpc_eth_getTransactionCount(self, params: list[Any]) -> str:
        who, ref = arity(params, 1, 1)
        sender = address(who, "address")
        with self.node.lock:
            nonce = self._state(ref).get_nonce(sender)
            if ref == "pending":
                nonce = self.node.pool.next_nonce(sender, nonce)
            return q(nonce)

    def rpc_eth_getCode(self, params: list[Any]) -> str:
        who, ref = arity(params, 1, 1)
        with self.node.lock:
            return d(self._state(ref).get_code(address(who, "address")))

    def rpc_eth_getStorageAt(self, params: list[Any]) -> str:
        who, slot, ref = arity(params, 2, 1)
        account = address(who, "address")
        position = (
            int.from_bytes(hash32(slot, "slot"), "big")
            if isinstance(slot, str) and len(slot) == 66
            else quantity(slot, "slot")
        )
        with self.node.lock:
            return d(self._state(ref).get_storage(account, position).to_bytes(32, "big"))

    def rpc_eth_call(self, params: list[Any]) -> str:
        tx, ref, _overrides = arity(params, 1, 2)
        args = call_args(tx)
        with self.node.lock:
            header = self._header(ref)
            return d(self.node.executor.call(args.sender, args.to, args.data, args.value, args.gas, header))

    def rpc_eth_estimateGas(self, params: list[Any]) -> str:
        tx, ref = arity(params, 1, 1)
        args = call_args(tx)
        with self.node.lock:
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
        with self.node.lock:
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

    # -- logs and filters --
    def _range(self, query: Any) -> tuple[int, int]:
        head = self.node.head.block_number
        first = (
            self._resolve(query.from_ref, "fromBlock").block_number
            if query.from_ref.number is None
            else query.from_ref.number
        )
        last = (
            self._resolve(query.to_ref, "toBlock").block_number
            if query.to_ref.number is None
            else min(query.to_ref.number, head)
        )
        return first, last

    def rpc_eth_getLogs(self, params: list[Any]) -> list[Any]:
        (raw,) = arity(params, 1)
        query = log_query(raw)
        with self.node.lock:
            if query.block_hash is not None:
                return logs_in_block(self.node, self._header({"blockHash": d(query.block_hash)}), query)
            return logs_in_range(self.node, query, *self._range(query))

    def rpc_eth_newFilter(self, params: list[Any]) -> str:
        (raw,) = arity(params, 1)
        query = log_query(raw)
        with self.node.lock:
            # Changes are what is sealed after the filter exists (eth_getFilterLogs gives the past).
            start = self.node.head.block_number + 1
            if query.from_ref.number is not None:
                start = max(start, query.from_ref.number)
            return self.filters.install("logs", start, query)

    def rpc_eth_newBlockFilter(self, params: list[Any]) -> str:
        arity(params, 0)
        return self.filters.install("blocks", self.node.head.block_number + 1)

    def rpc_eth_newPendingTransactionFilter(self, params: list[Any]) -> str:
        arity(params, 0)
        with self.node.lock:
            return self.filters.install("pending", 0, pending=set(self.node.pool.hashes()))

    def rpc_eth_getFilterChanges(self, params: list[Any]) -> list[Any]:
        (fid,) = arity(params, 1)
        filt = self.filters.get(fid)
        with self.node.lock:
            head = self.node.head.block_number
            if filt.kind == "pending":
                new = [h for h in self.node.pool.hashes() if h not in filt.seen_pending]
                filt.seen_pending.update(new)
                return [d(h) for h in new]
            first, filt.next_block = filt.next_block, head + 1
            if filt.kind == "blocks":
                return block_hashes(self.node, first, head)
            assert filt.query is not None  # every filter but "blocks" is made with its log query
            last = head if filt.query.to_ref.number is None else min(head, filt.query.to_ref.number)
            return logs_in_range(self.node, filt.query, first, last) if first <= last else []

    def rpc_eth_getFilterLogs(self, params: list[Any]) -> list[Any]:
        (fid,) = arity(params, 1)
        filt = self.filters.get(fid)
        if filt.kind != "logs":
            raise InvalidParams("not a log filter")
        return self.rpc_eth_getLogs([_query_dict(filt.query)])

    def rpc_eth_uninstallFilter(self, params: list[Any]) -> bool:
        (fid,) = arity(params, 1)
        return self.filters.uninstall(fid)

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
        with self.node.lock:
            header = self._header_or_none(ref)
            return None if header is None else d(self.node.raw_block(header))

    def rpc_custos_membership(self, params: list[Any]) -> Any:
        arity(params, 0)
        member = self.node.permission.membership
        return None if member is None else addr(member)


def _query_dict(query: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "address": [d(a) for a in query.addresses],
        "topics": [None if t is None else [d(x) for x in t] for t in query.topics],
    }
    if query.block_hash is not None:
        out["blockHash"] = d(query.block_hash)
        return out
    for key, ref in (("fromBlock", query.from_ref), ("toBlock", query.to_ref)):
        out[key] = ref.tag if ref.number is None else q(ref.number)
    return out

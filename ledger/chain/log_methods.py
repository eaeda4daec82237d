"""JSON-RPC methods over logs: eth_getLogs and the polling filters (eth_newFilter and friends)."""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI

from ledger.chain.encoding import d, q
from ledger.chain.filters import Filters, block_hashes, log_query, logs_in_block, logs_in_range
from ledger.chain.params import BlockRef, InvalidParams, arity


class LogMethods:
    """eth_getLogs, eth_newFilter, eth_newBlockFilter, … (mixed into `Methods`)."""

    node: Any
    filters: Filters

    @property
    def client(self) -> str:
        raise NotImplementedError

    def _resolve(self, ref: BlockRef, name: str) -> BlockHeaderAPI:
        raise NotImplementedError

    def _header(self, raw: Any, name: str = "block") -> BlockHeaderAPI:
        raise NotImplementedError

    def _range(self, query: Any) -> tuple[int, int]:
        head = self.node.head.block_number
        first = (
            self._resolve(query.from_ref, "fromBlock").block_number
            if query.from_ref.number is None
            else query.from_ref.number
        )
        if first > head:
            raise InvalidParams(f"fromBlock {first} is beyond the head {head}")
        last = (
            self._resolve(query.to_ref, "toBlock").block_number
            if query.to_ref.number is None
            else min(query.to_ref.number, head)
        )
        return first, last

    def rpc_eth_getLogs(self, params: list[Any]) -> list[Any]:
        (raw,) = arity(params, 1)
        query = log_query(raw)
        if query.block_hash is not None:
            return logs_in_block(self.node, self._header({"blockHash": d(query.block_hash)}), query)
        return logs_in_range(self.node, query, *self._range(query))

    def rpc_eth_newFilter(self, params: list[Any]) -> str:
        (raw,) = arity(params, 1)
        query = log_query(raw)
        # Changes are what is sealed after the filter exists (eth_getFilterLogs gives the past).
        start = self.node.head.block_number + 1
        if query.from_ref.number is not None:
            start = max(start, query.from_ref.number)
        return self.filters.install("logs", start, query, client=self.client)

    def rpc_eth_newBlockFilter(self, params: list[Any]) -> str:
        arity(params, 0)
        return self.filters.install("blocks", self.node.head.block_number + 1, client=self.client)

    def rpc_eth_newPendingTransactionFilter(self, params: list[Any]) -> str:
        arity(params, 0)
        return self.filters.install("pending", 0, pending=set(self.node.pool.hashes()), client=self.client)

    def rpc_eth_getFilterChanges(self, params: list[Any]) -> list[Any]:
        (fid,) = arity(params, 1)
        filt = self.filters.get(fid)
        head = self.node.head.block_number
        if filt.kind == "pending":
            new = [h for h in self.node.pool.hashes() if h not in filt.seen_pending]
            filt.seen_pending.update(new)
            return [d(h) for h in new]
        first, filt.next_block = filt.next_block, head + 1
        if filt.kind == "blocks":
            return block_hashes(self.node, first, head)
        query = filt.query
        assert query is not None  # a log filter always has its query
        last = head if query.to_ref.number is None else min(head, query.to_ref.number)
        return logs_in_range(self.node, query, first, last) if first <= last else []

    def rpc_eth_getFilterLogs(self, params: list[Any]) -> list[Any]:
        (fid,) = arity(params, 1)
        filt = self.filters.get(fid)
        if filt.kind != "logs":
            raise InvalidParams("not a log filter")
        return self.rpc_eth_getLogs([_query_dict(filt.query)])

    def rpc_eth_uninstallFilter(self, params: list[Any]) -> bool:
        (fid,) = arity(params, 1)
        return self.filters.uninstall(fid)


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

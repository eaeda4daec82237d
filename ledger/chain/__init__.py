"""The embedded consortium chain: durable py-evm, PoA seals, permissioned pool, JSON-RPC."""

from ledger.chain.errors import ChainError, ExecutionReverted, HistoryError, NotPermitted, TxRejected
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node

__all__ = ["ChainError", "ExecutionReverted", "GenesisSpec", "HistoryError", "Node", "NotPermitted", "TxRejected"]

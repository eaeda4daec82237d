"""What every contract binding shares: encode a call, send or eth_call it, decode outputs and events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi import decode
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import Web3RPCError

from ledger.artifacts import load
from ledger.client.connection import rpc
from ledger.client.revert import canonical_type
from ledger.client.sender import Receipt, TransactionSender
from ledger.deployment import Deployment
from ledger.errors import ConnectionFailed
from ledger.index.decode import EventSpec, event_specs
from ledger.index.log_ranges import ranged_logs


@dataclass(frozen=True)
class ContractEvent:
    """One decoded event of a contract: the block it is in, its name and arguments."""

    block_number: int
    log_index: int
    name: str
    args: dict[str, Any]


class ContractBinding:
    """A deployed contract reached through one account's `TransactionSender`."""

    NAME: ClassVar[str]

    def __init__(self, sender: TransactionSender, address: str) -> None:
        self.sender = sender
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        abi = load(self.NAME).abi
        self._contract = sender.w3.eth.contract(address=self.address, abi=abi)
        self._outputs = {f["name"]: [canonical_type(o) for o in f["outputs"]] for f in abi if f["type"] == "function"}
        self._events: dict[bytes, EventSpec] = event_specs(self.NAME, abi)

    @classmethod
    def at(cls, sender: TransactionSender, deployment: Deployment) -> Any:
        """The binding at this contract's address in `deployment`."""
        return cls(sender, deployment.address(cls.NAME))

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata of `function(*args)` (e.g. for a governance proposal)."""
        return bytes.fromhex(self._contract.encode_abi(function, list(args))[2:])

    def _call(self, function: str, *args: Any) -> Any:
        raw = self.sender.call(self.address, self.encode(function, *args))
        types = self._outputs[function]
        values = tuple(_checksummed(t, v) for t, v in zip(types, decode(types, raw)))
        return values[0] if len(values) == 1 else values

    def _send(self, function: str, *args: Any) -> Receipt:
        return self.sender.transact(self.address, self.encode(function, *args))

    def events(self, receipt: Receipt, name: str) -> list[dict[str, Any]]:
        """Arguments of this contract's `name` events in `receipt`, in log order."""
        found = []
        for log in receipt.logs:
            spec = self._events.get(log.topics[0]) if log.topics else None
            if log.address == self.address and spec is not None and spec.name == name:
                found.append(spec.decode(log.topics, log.data))
        return found

    def logs(self, from_block: int, to_block: int) -> list[ContractEvent]:
        """This contract's decoded events in blocks `from_block`..`to_block`, asked in ranges the node accepts."""
        found = []
        for logs in ranged_logs(self._raw_logs, from_block, to_block):
            for log in logs:
                topics = [bytes(t) for t in log["topics"]]
                spec = self._events.get(topics[0]) if topics else None
                if spec is not None:
                    args = spec.decode(topics, bytes(log["data"]))
                    found.append(ContractEvent(int(log["blockNumber"]), int(log["logIndex"]), spec.name, args))
        return found

    def _raw_logs(self, start: int, end: int) -> list[Any] | None:
        """This contract's raw logs of blocks start..end; None when the node refuses the range as too long."""
        query: Any = {"address": self.address, "fromBlock": start, "toBlock": end}
        try:
            return list(rpc(lambda: self.sender.w3.eth.get_logs(query), what=f"read {self.NAME}'s events"))
        except ConnectionFailed as exc:
            if end == start or not isinstance(exc.__cause__, Web3RPCError):
                raise
            return None

    def _one(self, receipt: Receipt, name: str) -> dict[str, Any]:
        found = self.events(receipt, name)
        if len(found) != 1:
            raise AssertionError(f"{self.NAME}: expected one {name} event in the receipt, found {len(found)}")
        return found[0]


def _checksummed(abi_type: str, value: Any) -> Any:
    """eth_abi decodes addresses in lower case; bindings hand out checksummed ones, also in tuples."""
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if abi_type.endswith("[]"):
        return tuple(_checksummed(abi_type[:-2], v) for v in value)
    if abi_type.startswith("(") and abi_type.endswith(")"):
        return tuple(_checksummed(t, v) for t, v in zip(_split_tuple(abi_type[1:-1]), value))
    return value


def _split_tuple(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return parts


def hash32(value: str | bytes) -> bytes:
    """A 32-byte value from bytes or 0x-hex (event arguments are decoded to hex)."""
    return value if isinstance(value, bytes) else bytes.fromhex(value[2:])


def addresses(values: Sequence[str]) -> list[ChecksumAddress]:
    """Checksummed addresses for ABI encoding."""
    return [Web3.to_checksum_address(v) for v in values]

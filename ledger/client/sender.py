"""Sending transactions from one account: nonces under concurrency, retries, receipts, reverts.

Nonces: one lock per sender covers "take the next nonce, sign, hand to the node", so any
number of threads get consecutive nonces and a refused transaction never leaves a gap (its
nonce is not consumed). Gas estimation and receipt waiting run outside the lock.
Retries: a transport error while sending re-sends the same signed bytes (the node answers
"already known", or "nonce too low" once it is mined: both mean it arrived); a "nonce too
low" for a transaction the node never saw means another process used the account, so the
nonce is re-read and the transaction re-signed. A send that never got through, or a receipt
that never came (a node restarted without its pool), also makes the next send re-read it.
Reverts: estimation reverts and mined status-0 receipts (replayed as a call at their
block) are decoded into the exception named after the contract's custom error.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from ledger.client.connection import TRANSIENT, rpc
from ledger.client.revert import decode_revert
from ledger.errors import ConnectionFailed, ContractRevert, TransactionRejected, TransactionTimeout


@dataclass(frozen=True)
class Log:
    """One event log as the chain recorded it."""

    address: ChecksumAddress
    topics: tuple[bytes, ...]
    data: bytes
    log_index: int


@dataclass(frozen=True)
class Receipt:
    """A mined transaction's receipt (status 1: reverted receipts raise instead)."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    status: int
    gas_used: int
    contract_address: ChecksumAddress | None
    logs: tuple[Log, ...]

    @classmethod
    def from_web3(cls, raw: Any) -> Receipt:
        """Build from web3's AttributeDict receipt."""
        logs = tuple(
            Log(
                Web3.to_checksum_address(log["address"]),
                tuple(bytes(t) for t in log["topics"]),
                bytes(log["data"]),
                int(log["logIndex"]),
            )
            for log in raw["logs"]
        )
        address = raw.get("contractAddress")
        return cls(
            bytes(raw["transactionHash"]),
            int(raw["blockNumber"]),
            bytes(raw["blockHash"]),
            int(raw["status"]),
            int(raw["gasUsed"]),
            Web3.to_checksum_address(address) if address else None,
            logs,
        )


def revert_from(exc: ContractLogicError, receipt: Any = None) -> ContractRevert:
    """Translate web3's revert exception into ours, decoding its data."""
    data = exc.data
    if isinstance(data, dict):  # some nodes nest the revert bytes one level down
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return decode_revert(bytes.fromhex(data[2:]), receipt)
        except ValueError:
            pass
    return ContractRevert({"message": str(exc)}, b"", receipt)


class TransactionSender:
    """Signs and sends `account`'s transactions on `w3`; safe to share between threads."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        receipt_timeout: float = 60.0,
        poll_interval: float = 0.05,
        send_attempts: int = 5,
        gas_margin: float = 1.25,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address: ChecksumAddress = account.address
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.send_attempts = send_attempts
        self.gas_margin = gas_margin
        self.chain_id: int = rpc(lambda: w3.eth.chain_id, what="read the chain id")
        self._lock = threading.Lock()
        self._next_nonce: int | None = None

    # -- reads --
    def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        """eth_call from this account; a revert raises the decoded exception."""
        tx = {"from": self.address, "to": Web3.to_checksum_address(to), "data": HexBytes(data)}
        try:
            return bytes(rpc(lambda: self.w3.eth.call(tx, block), what=f"call {to}"))  # type: ignore[arg-type]  # web3's TxParams TypedDict does not accept a plain dict
        except ContractLogicError as exc:
            raise revert_from(exc) from None

    def estimate_gas(self, to: str | None, data: bytes, value: int = 0) -> int:
        """Gas for the transaction with a safety margin; a revert raises the decoded exception."""
        tx: dict[str, Any] = {"from": self.address, "data": HexBytes(data), "value": value}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        try:
            gas = rpc(lambda: self.w3.eth.estimate_gas(tx), what="estimate gas")  # type: ignore[arg-type]  # as above
        except ContractLogicError as exc:
            raise revert_from(exc) from None
        return int(gas * self.gas_margin)

    # -- writes --
    def transact(
        self, to: str | None, data: bytes, value: int = 0, gas: int | None = None, timeout: float | None = None
    ) -> Receipt:
        """Send and wait for the receipt; raises the decoded revert if it failed."""
        return self.wait(self.submit(to, data, value, gas), timeout)

    def deploy(self, bytecode: bytes, timeout: float | None = None) -> Receipt:
        """Create a contract from `bytecode` (constructor arguments appended)."""
        return self.transact(None, bytecode, timeout=timeout)

    def submit(self, to: str | None, data: bytes, value: int = 0, gas: int | None = None) -> bytes:
        """Sign with the next nonce and hand to the node; returns the transaction hash."""
        gas = gas if gas is not None else self.estimate_gas(to, data, value)
        gas_price = rpc(lambda: self.w3.eth.gas_price, what="read the gas price")
        tx: dict[str, Any] = {
            "data": HexBytes(data),
            "value": value,
            "gas": gas,
            "gasPrice": gas_price,
            "chainId": self.chain_id,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        with self._lock:
            if self._next_nonce is None:
                self._next_nonce = self._pending_nonce()
            tx_hash = self._send_locked(tx)
            self._next_nonce += 1
            return tx_hash

    def _send_locked(self, tx: dict[str, Any]) -> bytes:
        assert self._next_nonce is not None
        resynced = False
        for attempt in range(self.send_attempts):
            signed = self.account.sign_transaction({**tx, "nonce": self._next_nonce})
            try:
                return bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except TRANSIENT:
                time.sleep(0.05 * 2**attempt)  # same bytes next time: safe even if they arrived
            except Web3RPCError as exc:
                message = str(exc).lower()
                if "already known" in message or self._is_known(signed.hash):
                    return bytes(signed.hash)
                # Another sender of this account took the nonce (mined, or pending on a node without replacement).
                if ("nonce too low" in message or "already pending" in message) and not resynced:
                    resynced = True
                    self._next_nonce = self._pending_nonce()
                    continue
                raise TransactionRejected(f"the node refused the transaction: {exc}") from None
        self._next_nonce = None  # the node may have restarted without its pool: re-read the nonce next time
        raise ConnectionFailed(f"could not send the transaction after {self.send_attempts} attempts")

    def _pending_nonce(self) -> int:
        return rpc(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), what="read the nonce")

    def _is_known(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
            return True
        except (TransactionNotFound, Web3RPCError, *TRANSIENT):
            return False

    def wait(self, tx_hash: bytes, timeout: float | None = None) -> Receipt:
        """Poll for the receipt until `timeout`; a reverted receipt raises the decoded error."""
        deadline = time.monotonic() + (self.receipt_timeout if timeout is None else timeout)
        while True:
            try:
                raw = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
                break
            except (TransactionNotFound, *TRANSIENT):
                if time.monotonic() >= deadline:
                    with self._lock:  # a node that restarted lost it: re-read the nonce rather than leave a gap
                        self._next_nonce = None
                    raise TransactionTimeout(f"no receipt for 0x{tx_hash.hex()} within the timeout", tx_hash) from None
                time.sleep(self.poll_interval)
        receipt = Receipt.from_web3(raw)
        if receipt.status != 1:
            raise self._replay_revert(tx_hash, receipt)
        return receipt

    def _replay_revert(self, tx_hash: bytes, receipt: Receipt) -> ContractRevert:
        """Re-run a failed transaction as a call on its block's parent state to get its revert bytes."""
        sent = rpc(lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)), what="read the failed transaction")
        call = {
            "from": sent["from"],
            "to": sent["to"],
            "data": sent["input"],
            "value": sent["value"],
            "gas": sent["gas"],
        }
        try:
            self.w3.eth.call(call, receipt.block_number - 1)  # type: ignore[arg-type]  # as above
        except ContractLogicError as exc:
            return revert_from(exc, receipt)
        except (Web3RPCError, *TRANSIENT):
            pass
        return ContractRevert({"gas_used": receipt.gas_used}, b"", receipt)

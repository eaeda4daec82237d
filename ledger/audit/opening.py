"""What a job's opening transaction asked for that JobOpened does not record: the requester's price cap.

`openJob(..., maxTotalPrice, ...)` makes the contract refuse the job when the sources' prices
sum to more than the cap as the transaction runs; the cap itself is only in the calldata. It is
read here from the raw transaction at the JobOpened event's position and bound to the event by
its hash (keccak of the raw bytes), so a node cannot substitute another transaction's calldata;
the event's transaction hash is itself checked against the sealed block by the verifier.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception

from ledger.artifacts import load
from ledger.index.store import IndexedEvent

# Position of `to` and `data` in each transaction type's RLP list (legacy, EIP-2930, EIP-1559).
_FIELDS = {None: (3, 5), 1: (4, 6), 2: (5, 7)}


def _to_and_data(raw: bytes) -> tuple[bytes, bytes] | None:
    kind = None if raw and raw[0] >= 0xC0 else raw[0] if raw else -1
    if kind not in _FIELDS:
        return None
    fields = rlp.decode(raw if kind is None else raw[1:])
    to, data = _FIELDS[kind]
    return bytes(fields[to]), bytes(fields[data])


def _ask(w3: Web3, method: str, params: list[Any]) -> Any:
    try:
        answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]  # not in web3's RPC enum
    except (Web3Exception, OSError, ValueError):
        return None
    return answer.get("result") if isinstance(answer, dict) else None


def _raw_transaction(w3: Web3, block_number: int, tx_index: int) -> bytes | None:
    """The raw transaction at a position: asked for directly (anvil, geth), or cut out of the raw
    block (the embedded node serves `debug_getRawBlock`, not the per-transaction method)."""
    raw = _ask(w3, "eth_getRawTransactionByBlockNumberAndIndex", [hex(block_number), hex(tx_index)])
    if isinstance(raw, str):
        return bytes(HexBytes(raw))
    block = _ask(w3, "debug_getRawBlock", [hex(block_number)])
    if not isinstance(block, str):
        return None
    try:
        transactions = rlp.decode(bytes(HexBytes(block)))[1]
    except (rlp.exceptions.DecodingError, IndexError, TypeError):
        return None
    if tx_index >= len(transactions):
        return None
    found = transactions[tx_index]
    return rlp.encode(found) if isinstance(found, list) else bytes(found)  # legacy: a list; typed: its bytes


def requested_price_cap(w3: Web3, opened: IndexedEvent) -> int | None:
    """The `maxTotalPrice` of the openJob call that emitted `opened` (a JobOpened event).

    None when the node serves neither the raw transaction nor its raw block, the bytes do not
    hash to the event's transaction, or the transaction is not a direct openJob call on the
    event's contract (a contract wallet's call, for example).
    """
    raw = _raw_transaction(w3, opened.block_number, opened.tx_index)
    if raw is None or keccak(raw) != opened.tx_hash:
        return None
    try:
        found = _to_and_data(raw)
    except rlp.exceptions.DecodingError:
        return None
    if found is None or found[0].hex() != opened.address.lower().removeprefix("0x"):
        return None
    contract = w3.eth.contract(abi=load("JobLedger").abi)
    try:
        function, args = contract.decode_function_input(found[1])
    except ValueError:
        return None
    return int(args["maxTotalPrice"]) if function.fn_name == "openJob" else None

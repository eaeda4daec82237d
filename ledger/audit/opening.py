"""What a job's opening transaction asked for that JobOpened does not record: the requester's price cap.

`openJob(..., maxTotalPrice, ...)` makes the contract refuse the job when the sources' prices
sum to more than the cap as the transaction runs; the cap itself is only in the calldata. It is
read here from the raw transaction at the JobOpened event's position and bound to the event by
its hash (keccak of the raw bytes), so a node cannot substitute another transaction's calldata.
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


def requested_price_cap(w3: Web3, opened: IndexedEvent) -> int | None:
    """The `maxTotalPrice` of the openJob call that emitted `opened` (a JobOpened event).

    None when the node does not serve the raw transaction, its bytes do not hash to the event's
    transaction, or the transaction is not a direct openJob call on the event's contract (a
    contract wallet's call, for example).
    """
    try:
        answer: Any = w3.provider.make_request(
            "eth_getRawTransactionByBlockNumberAndIndex",  # type: ignore[arg-type]  # not in web3's RPC enum
            [hex(opened.block_number), hex(opened.tx_index)],
        )
    except (Web3Exception, OSError, ValueError):
        return None
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, str):
        return None
    raw = bytes(HexBytes(result))
    if keccak(raw) != opened.tx_hash:
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

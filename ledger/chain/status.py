"""`custos chain status`: ask a node over JSON-RPC and verify its head's seal independently.

The head header is rebuilt from the block JSON and hashed here, so a node cannot claim a
hash its fields do not produce; the seal is then recovered and checked against the
validator set, whose hash the genesis header's extraData commits to.
"""

from __future__ import annotations

from typing import Any

import httpx
from eth.vm.forks.cancun.headers import CancunBlockHeader
from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ledger.chain.sealing import SealError, validator_set_hash, verify_seal


class StatusError(Exception):
    """The node could not be reached or answered nonsense."""


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    try:
        reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise StatusError(f"cannot reach {url}: {exc}") from None
    if "error" in reply:
        raise StatusError(f"{method} failed: {reply['error'].get('message')}")
    return reply["result"]


def header_from_json(block: dict[str, Any]) -> CancunBlockHeader:
    """The py-evm header whose fields a block JSON object lists (to recompute its hash)."""
    h = lambda k: bytes.fromhex(block[k][2:])  # noqa: E731  # two one-line field readers, used a dozen times below
    n = lambda k: int(block[k], 16)  # noqa: E731  # as above
    return CancunBlockHeader(
        parent_hash=h("parentHash"),
        uncles_hash=h("sha3Uncles"),
        coinbase=h("miner"),
        state_root=h("stateRoot"),
        transaction_root=h("transactionsRoot"),
        receipt_root=h("receiptsRoot"),
        bloom=int.from_bytes(h("logsBloom"), "big"),
        difficulty=n("difficulty"),
        block_number=n("number"),
        gas_limit=n("gasLimit"),
        gas_used=n("gasUsed"),
        timestamp=n("timestamp"),
        extra_data=h("extraData"),
        mix_hash=h("mixHash"),
        nonce=h("nonce"),
        base_fee_per_gas=n("baseFeePerGas"),
        withdrawals_root=h("withdrawalsRoot"),
        blob_gas_used=n("blobGasUsed"),
        excess_blob_gas=n("excessBlobGas"),
        parent_beacon_block_root=h("parentBeaconBlockRoot"),
    )


def chain_status(url: str) -> dict[str, Any]:
    """Summarise the chain behind `url` and check the head's seal."""
    chain_id = int(_rpc(url, "eth_chainId", []), 16)
    head = _rpc(url, "eth_getBlockByNumber", ["latest", False])
    genesis = _rpc(url, "eth_getBlockByNumber", ["0x0", False])
    validators = _rpc(url, "custos_validators", [])
    validator_bytes = frozenset(bytes.fromhex(v[2:]) for v in validators)
    problems = []
    if bytes.fromhex(genesis["extraData"][2:]) != validator_set_hash(validator_bytes):
        problems.append("genesis extraData does not commit to the reported validators")
    header = header_from_json(head)
    if "0x" + header.hash.hex() != head["hash"]:
        problems.append("head hash does not match its fields")
    if header.block_number > 0:
        seal = _rpc(url, "custos_getBlockSeal", [head["hash"]])
        try:
            verify_seal(chain_id, header.hash, bytes.fromhex(seal[2:]) if seal else None, validator_bytes)
        except SealError as exc:
            problems.append(str(exc))
    membership = _rpc(url, "custos_membership", [])
    return {
        "chainId": chain_id,
        "height": header.block_number,
        "head": head["hash"],
        "timestamp": header.timestamp,
        "validators": validators,
        "membership": membership,
        "members": _members(url, membership),
        "sealOk": not problems,
        "problems": problems,
    }


def _members(url: str, membership: str | None) -> list[str] | None:
    """Consortium.members() at the head, or None while the chain is bootstrapping."""
    if membership is None:
        return None
    output = _rpc(url, "eth_call", [{"to": membership, "data": "0x" + keccak(text="members()")[:4].hex()}, "latest"])
    (members,) = decode(["address[]"], bytes.fromhex(output[2:]))
    return [to_checksum_address(m) for m in members]

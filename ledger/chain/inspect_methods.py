"""JSON-RPC methods that look inside execution and state: access lists, proofs, call traces.

- `eth_createAccessList`: the addresses and storage slots a call touches (EIP-2930), as
  `cast access-list` asks for; the sender, coinbase and precompiles are left out, as geth does.
- `eth_getProof` (EIP-1186): Merkle proofs of an account and of storage slots against a
  block's state root, so an auditor can prove a balance or a contract's stored value
  (`creditOf`, say) from the sealed header alone.
- `debug_traceTransaction` with geth's `callTracer`: the call tree of a mined transaction,
  re-executed on its block's parent state after the transactions before it.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.abc import ComputationAPI, StateAPI
from eth.constants import BLANK_ROOT_HASH
from eth.rlp.accounts import Account
from eth_utils import keccak
from trie import HexaryTrie

from ledger.chain.encoding import addr, d, q
from ledger.chain.errors import ExecutionFailed
from ledger.chain.execution import CallDeadline, CallTimeout, call_vm, pending_state, revert_message, spoof_call
from ledger.chain.params import InvalidParams, address, arity, call_args, hash32, slot

_PRECOMPILES = frozenset(i.to_bytes(20, "big") for i in range(1, 11))


class InspectMethods:
    """eth_createAccessList, eth_getProof and debug_traceTransaction (mixed into `Methods`)."""

    node: Any

    def _header(self, raw: Any, name: str = "block") -> Any:
        raise NotImplementedError

    def _locate(self, tx_hash: bytes) -> tuple[Any, int] | None:
        raise NotImplementedError

    def rpc_eth_createAccessList(self, params: list[Any]) -> dict[str, Any]:
        tx, ref = arity(params, 1, 1)
        args = call_args(tx)
        header = self._header(ref)
        state = pending_state(self.node, header)
        touched: dict[bytes, set[int]] = {}
        _record_access(state, touched)
        gas = min(args.gas or header.gas_limit, header.gas_limit)
        call = spoof_call(state, args.sender, args.to, args.data, args.value, gas)
        computation = state.costless_execute_transaction(call)
        skip = _PRECOMPILES | {args.sender, header.coinbase, self.node.validator_address or b""}
        entries = [
            {"address": addr(a), "storageKeys": [d(s.to_bytes(32, "big")) for s in sorted(slots)]}
            for a, slots in touched.items()
            if a not in skip and (a != args.to or slots)
        ]
        out: dict[str, Any] = {"accessList": entries, "gasUsed": q(gas - computation.get_gas_remaining())}
        if computation.is_error:
            out["error"] = revert_message(computation.output) if computation.is_error else None
        return out

    def rpc_eth_getProof(self, params: list[Any]) -> dict[str, Any]:
        who, keys, ref = arity(params, 3)
        account = address(who, "address")
        if not isinstance(keys, list):
            raise InvalidParams("storageKeys: expected an array")
        slots = [slot(k, "storageKeys") for k in keys]
        header = self._header(ref)
        db = self.node.chain.chaindb.db
        state_trie = HexaryTrie(db, header.state_root)
        account_proof = state_trie.get_proof(keccak(account))
        state = self.node.chain.get_vm(header).state
        encoded = state_trie.get(keccak(account))
        storage_root = rlp.decode(encoded, sedes=Account).storage_root if encoded else BLANK_ROOT_HASH
        storage_trie = HexaryTrie(db, storage_root)
        return {
            "address": addr(account),
            "accountProof": [d(rlp.encode(node)) for node in account_proof],
            "balance": q(state.get_balance(account)),
            "codeHash": d(state.get_code_hash(account)),
            "nonce": q(state.get_nonce(account)),
            "storageHash": d(storage_root),
            "storageProof": [
                {
                    "key": q(s),
                    "value": q(state.get_storage(account, s)),
                    "proof": [d(rlp.encode(n)) for n in storage_trie.get_proof(keccak(s.to_bytes(32, "big")))],
                }
                for s in slots
            ],
        }

    def rpc_debug_traceTransaction(self, params: list[Any]) -> Any:
        raw, options = arity(params, 1, 1)
        tracer = (options or {}).get("tracer") if isinstance(options, dict) else None
        if tracer != "callTracer":
            raise InvalidParams('only {"tracer": "callTracer"} is supported')
        found = self._locate(hash32(raw, "transactionHash"))
        if found is None:
            return None
        block, index = found
        chain = self.node.chain
        parent = chain.chaindb.get_block_header_by_hash(block.header.parent_hash)
        header = block.header.copy(state_root=parent.state_root, gas_used=0, bloom=0)
        vm = call_vm(chain, header)
        try:
            with CallDeadline(self.node.call_time_limit):
                for tx in block.transactions[:index]:
                    receipt, _ = vm.apply_transaction(header, tx)
                    header = vm.add_receipt_to_header(header, receipt)
                tx = block.transactions[index]
                receipt, computation = vm.apply_transaction(header, tx)
        except CallTimeout:
            raise ExecutionFailed(f"trace timed out after {self.node.call_time_limit:g} s") from None
        frame = _frame(computation)
        frame["gasUsed"] = q(receipt.gas_used - header.gas_used)
        frame["gas"] = q(tx.gas)
        return frame


def _record_access(state: StateAPI, touched: dict[bytes, set[int]]) -> None:
    """Make `state` note every address and slot it warms (EIP-2929 is exactly 'touched')."""
    warm_address, warm_slot = state.mark_address_warm, state.mark_storage_warm

    def address_warm(account: Any) -> None:
        touched.setdefault(bytes(account), set())
        warm_address(account)

    def slot_warm(account: Any, position: int) -> None:
        touched.setdefault(bytes(account), set()).add(position)
        warm_slot(account, position)

    state.mark_address_warm = address_warm  # type: ignore[method-assign,assignment]  # per-instance hook on this scratch state
    state.mark_storage_warm = slot_warm  # type: ignore[method-assign,assignment]  # per-instance hook on this scratch state


def _frame(computation: ComputationAPI) -> dict[str, Any]:
    """geth's callTracer frame for one message, with its sub-calls."""
    msg = computation.msg
    if msg.is_create:
        kind = "CREATE"
    elif msg.is_static:
        kind = "STATICCALL"
    elif msg.code_address != msg.storage_address:
        kind = "DELEGATECALL"
    else:
        kind = "CALL"
    frame: dict[str, Any] = {
        "type": kind,
        "from": addr(msg.sender),
        "to": addr(msg.storage_address),
        "value": q(msg.value),
        "gas": q(msg.gas),
        "gasUsed": q(computation.get_gas_used()),
        "input": d(bytes(msg.data if not msg.is_create else msg.code)),
        "output": d(computation.output),
    }
    if computation.is_error:
        frame["error"] = "execution reverted" if computation.output else type(computation.error).__name__
        if computation.output:
            frame["revertReason"] = revert_message(computation.output).removeprefix("execution reverted: ")
    if computation.children:
        frame["calls"] = [_frame(child) for child in computation.children]
    return frame

"""Revert decoding: raw revert bytes → a Python exception named after the Solidity error.

Every custom error of every committed artifact (`ledger/abi/*.json`) is known by its
4-byte selector. `decode_revert(data)` returns an instance of a `ContractRevert` subclass
whose class name is the error's name (made on first use and cached, so `except` clauses
and `isinstance` agree across calls). Unknown selectors stay a plain `ContractRevert`.
`from ledger.client.revert import BeaconZeroStep` gives the class for a known error.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

from ledger.artifacts import ARTIFACTS_DIR, load
from ledger.errors import ContractRevert, Panic, RevertWithReason

_ERROR_STRING = function_signature_to_4byte_selector("Error(string)")
_PANIC = function_signature_to_4byte_selector("Panic(uint256)")


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples spelled out), as selectors and decoders need."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


@cache
def known_errors() -> dict[bytes, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Selector → (name, argument names, argument types) over every committed artifact's ABI."""
    errors: dict[bytes, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        for item in load(path.stem).abi:
            if item.get("type") != "error":
                continue
            types = tuple(canonical_type(p) for p in item["inputs"])
            names = tuple(p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"]))
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            errors[selector] = (item["name"], names, types)
    return errors


@cache
def revert_error(name: str) -> type[ContractRevert]:
    """The exception class for the custom error `name` (one class per name, made once)."""
    return type(
        name,
        (ContractRevert,),
        {"name": name, "__doc__": f"The contract reverted with {name}.", "__module__": __name__},
    )


def decode_revert(data: bytes, receipt: Any = None) -> ContractRevert:
    """The exception that the revert bytes `data` stand for."""
    selector, body = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING:
            return RevertWithReason({"reason": decode(["string"], body)[0]}, data, receipt)
        if selector == _PANIC:
            return Panic({"code": decode(["uint256"], body)[0]}, data, receipt)
        known = known_errors().get(selector)
        if known is not None:
            name, names, types = known
            values = decode(list(types), body) if types else ()
            return revert_error(name)(dict(zip(names, values)), data, receipt)
    except Exception:  # noqa: BLE001 - undecodable bytes are reported raw, never raised from here
        pass
    return ContractRevert(None, data, receipt)


def __getattr__(name: str) -> type[ContractRevert]:
    if any(known[0] == name for known in known_errors().values()):
        return revert_error(name)
    raise AttributeError(f"no contract error named {name!r} in ledger/abi")

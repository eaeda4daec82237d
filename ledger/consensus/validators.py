"""The validator set of a height: the Consortium contract's VALIDATOR role in the parent block's state.

A governance vote that removes a validator (or grants the role) therefore takes effect
from the block after the one that executed it, on every node alike. The quorum is 2f+1 of
n = 3f+1 in general, n − ⌊(n−1)/3⌋: 1 of 1, 3 of 3, 3 of 4, 5 of 7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth.abc import BlockHeaderAPI
from eth_abi import decode, encode
from eth_utils import keccak

from ledger.chain.errors import ExecutionFailed
from ledger.deploy import ROLE_BITS

if TYPE_CHECKING:
    from ledger.chain.node import Node

_MEMBERS = keccak(text="members()")[:4]
_HAS_ROLES = keccak(text="hasRoles(address,uint8)")[:4]
_ZERO = b"\x00" * 20


class ValidatorSetError(Exception):
    """The parent state names no validator (no membership contract, or a failing call)."""


def quorum(n: int) -> int:
    """Seals needed out of `n` validators: n − f with f = ⌊(n−1)/3⌋ faulty tolerated."""
    if n <= 0:
        raise ValidatorSetError("an empty validator set has no quorum")
    return n - (n - 1) // 3


def validators_at(node: Node, parent: BlockHeaderAPI) -> frozenset[bytes]:
    """Members holding the VALIDATOR role in `parent`'s post-state (the set for block parent+1)."""
    membership = node.permission.membership
    if membership is None:
        return frozenset(node.spec.validators)
    try:
        (members,) = decode(["address[]"], node.executor.call(_ZERO, membership, _MEMBERS, header=parent))
        out = set()
        for member in members:
            args = encode(["address", "uint8"], [member, ROLE_BITS["VALIDATOR"]])
            answer = node.executor.call(_ZERO, membership, _HAS_ROLES + args, header=parent)
            if int.from_bytes(answer, "big") == 1:
                out.add(bytes.fromhex(member[2:]))
    except ExecutionFailed as exc:
        raise ValidatorSetError(f"cannot read the validator set at block {parent.block_number}: {exc}") from None
    if not out:
        raise ValidatorSetError(f"no validator holds the VALIDATOR role at block {parent.block_number}")
    return frozenset(out)

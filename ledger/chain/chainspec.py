"""The embedded chain's rules: Cancun EVM, its chain id, gas policy and timestamp rule.

Fee rule: gas is a computation bound here, not a market. The consortium's fork rules fix
the base fee at 0 in every header: `CustosVM` builds headers with base fee 0 and header
validation rejects any other value, on the producer and on every replica alike. (EIP-1559's
update rule cannot be used: one block above the gas target lifts a base fee of 0 to 1, and
from 1 no amount of empty blocks brings it back to 0, so every zero-priced transaction
would be refused from then on.) `eth_gasPrice`, `eth_maxPriorityFeePerGas` and
`eth_feeHistory` therefore say 0 truthfully. Members are still funded at genesis so that
value transfers and clients that check balances work. Admission control is the membership
contract, not fees.

Timestamps: a block's timestamp is the producer's wall clock (whole seconds) and may equal
its parent's, as in Clique with period 0 (geth `--dev`): the head never runs ahead of the
clock, however many blocks a second are sealed, so contract deadlines stay honest.
"""

from __future__ import annotations

from typing import Any

import eth.vm.base
from eth.abc import BlockHeaderAPI
from eth.chains.base import Chain
from eth.validation import validate_gas_limit
from eth.vm.forks import CancunVM
from eth_utils import ValidationError

from ledger.chain.ordered_trie import make_trie_root_and_nodes

# Custos' default chain id (not a public network's); a consortium file may choose another.
DEFAULT_CHAIN_ID = 727_027
GAS_LIMIT = 60_000_000
GAS_TARGET = GAS_LIMIT // 2

# py-evm's VM builds and re-checks the transaction/receipt roots of each block with a
# one-insert-at-a-time HexaryTrie; ours gives identical roots and nodes (tested) in one pass.
eth.vm.base.make_trie_root_and_nodes = make_trie_root_and_nodes  # type: ignore[assignment]  # same call; roots typed bytes, not Hash32


_cancun_header_from_parent = CancunVM.create_header_from_parent


def _header_from_parent(parent_header: BlockHeaderAPI | None, **header_params: Any) -> BlockHeaderAPI:
    """Cancun's header for the block after `parent_header`, with the base fee fixed at 0."""
    header = _cancun_header_from_parent(parent_header, **header_params)
    return header if parent_header is None else header.copy(base_fee_per_gas=0)


class CustosVM(CancunVM):
    """Cancun with the consortium's fork rules: base fee fixed at 0; timestamps may repeat."""

    create_header_from_parent = staticmethod(_header_from_parent)

    @classmethod
    def validate_gas(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        """The gas limit moves by EIP-1559's bound; the base fee is 0 in every block."""
        validate_gas_limit(header.gas_limit, parent_header.gas_limit)
        if header.base_fee_per_gas != 0:
            raise ValidationError(f"Header has base fee per gas {header.base_fee_per_gas}: this chain fixes it at 0")

    @classmethod
    def validate_header(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        """Cancun's header checks with timestamp ≥ parent instead of > parent."""
        if parent_header is not None and header.timestamp == parent_header.timestamp:
            # Cancun only uses the parent's timestamp for the ordering check.
            parent_header = parent_header.copy(timestamp=parent_header.timestamp - 1)
        super().validate_header(header, parent_header)


def chain_class(chain_id: int) -> type[Chain]:
    """The py-evm chain class for `chain_id`: CustosVM from genesis on."""
    attrs: dict[str, Any] = {"vm_configuration": ((0, CustosVM),), "chain_id": chain_id}
    return Chain.configure(__name__="CustosChain", **attrs)

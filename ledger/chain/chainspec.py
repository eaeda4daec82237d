"""The embedded chain's rules: Cancun EVM, its chain id, gas policy and timestamp rule.

Gas policy: gas is a computation bound here, not a market. The genesis base fee is 0 and
the block producer fills a block only up to the EIP-1559 gas target (half the limit, by
the gas each transaction declares), so the base fee never rises above 0; fee suggestions
are 0 too. Members are still funded at genesis so that value transfers and clients that
check balances work. Admission control is the membership contract, not fees.

Timestamps: a block's timestamp is the producer's wall clock (whole seconds) and may equal
its parent's, as in Clique with period 0 (geth `--dev`): the head never runs ahead of the
clock, however many blocks a second are sealed, so contract deadlines stay honest.
"""

from __future__ import annotations

from typing import Any

import eth.vm.base
from eth.abc import BlockHeaderAPI
from eth.chains.base import Chain
from eth.vm.forks import CancunVM

from ledger.chain.ordered_trie import make_trie_root_and_nodes

# Custos' default chain id (not a public network's); a consortium file may choose another.
DEFAULT_CHAIN_ID = 727_027
GAS_LIMIT = 60_000_000
GAS_TARGET = GAS_LIMIT // 2

# py-evm's VM builds and re-checks the transaction/receipt roots of each block with a
# one-insert-at-a-time HexaryTrie; ours gives identical roots and nodes (tested) in one pass.
eth.vm.base.make_trie_root_and_nodes = make_trie_root_and_nodes  # type: ignore[assignment]  # same call; roots typed bytes, not Hash32


class CustosVM(CancunVM):
    """Cancun, except that a block may share its parent's timestamp (never precede it)."""

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

"""The one-pass trie builder gives py-evm's roots and nodes exactly."""

from __future__ import annotations

from eth.db.trie import _make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.chain.ordered_trie import ordered_trie_root_and_nodes


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=80), max_size=300))
def test_root_and_nodes_match_py_evm_hexary_trie(values: list[bytes]) -> None:
    assert ordered_trie_root_and_nodes(values) == _make_trie_root_and_nodes(tuple(values))


def test_sizes_across_rlp_key_boundaries_match() -> None:
    for n in (0, 1, 2, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1000):
        values = [bytes([i % 251]) * (i % 40 + 1) for i in range(n)]
        assert ordered_trie_root_and_nodes(values) == _make_trie_root_and_nodes(tuple(values)), n

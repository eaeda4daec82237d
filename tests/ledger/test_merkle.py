"""Merkle proofs: every leaf proves, nothing else does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import EMPTY_ROOT, MerkleTree, hash_pair, leaf_hash, verify


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=40))
def test_every_leaf_proves_against_the_root(items: list[bytes]) -> None:
    tree = MerkleTree.from_leaves([leaf_hash(x) for x in items])
    for i, item in enumerate(items):
        assert verify(leaf_hash(item), tree.proof(i), tree.root)


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=2, max_size=20, unique=True))
def test_a_proof_does_not_fit_another_leaf_or_a_tampered_root(items: list[bytes]) -> None:
    tree = MerkleTree.from_leaves([leaf_hash(x) for x in items])
    proof = tree.proof(0)
    assert not verify(leaf_hash(items[1]), proof, tree.root)
    tampered = bytes([tree.root[0] ^ 1]) + tree.root[1:]
    assert not verify(leaf_hash(items[0]), proof, tampered)


def test_pair_hash_is_commutative_and_root_of_two_is_their_pair() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert hash_pair(a, b) == hash_pair(b, a)
    assert MerkleTree.from_leaves([a, b]).root == hash_pair(a, b)


def test_inner_node_is_not_accepted_as_a_leaf() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(4)]
    tree = MerkleTree.from_leaves(leaves)
    inner = tree.layers[1][0]
    # The inner node proves as a *node*, but no data hashes to it as a leaf.
    assert verify(inner, [tree.layers[1][1]], tree.root)
    assert leaf_hash(leaves[0] + leaves[1]) != inner


def test_empty_tree_and_bad_input() -> None:
    assert MerkleTree.from_leaves([]).root == EMPTY_ROOT
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree.from_leaves([b"short"])
    with pytest.raises(IndexError):
        MerkleTree.from_leaves([leaf_hash(b"x")]).proof(1)

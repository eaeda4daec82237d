"""Merkle trees whose proofs OpenZeppelin's `MerkleProof.verify` accepts.

Pairs are hashed in sorted order (`keccak256(min(a, b) ‖ max(a, b))`), so a proof is just
the list of sibling hashes, with no left/right flags. An odd node at the end of a layer is
carried up unchanged. Leaves are hashed twice (`keccak256(keccak256(data))`, as
OpenZeppelin's StandardMerkleTree does) so that no leaf can pass for an inner node.
Used for row commitments, protocol transcripts and batch anchoring alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

# eth-hash directly: eth_utils.keccak's argument dispatch costs 4x the hash itself on 32-64 byte inputs;
# and safe-pysha3's C Keccak itself when present (eth-hash's own dispatch doubles the cost again).
try:
    from _pysha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        """keccak256 of `data`."""
        digest: bytes = _keccak_256(data).digest()
        return digest

except ImportError:  # pragma: no cover - safe-pysha3 is a dependency; eth-hash's backend is the fallback
    from eth_hash.auto import keccak  # type: ignore[assignment]  # eth-hash's keccak has the same call shape as the C one above

    _keccak_256 = None  # no C hash object: the loops below call keccak()

EMPTY_ROOT = b"\x00" * 32


def leaf_hash(data: bytes) -> bytes:
    """The leaf of `data`: keccak256 applied twice, so a leaf never collides with an inner node."""
    return keccak(keccak(data))


def leaf_hashes(records: Iterable[bytes]) -> list[bytes]:
    """`leaf_hash` of each record (one loop, no call per record: anchoring hashes every audit record)."""
    if _keccak_256 is None:  # pragma: no cover - see the import above
        return [keccak(keccak(data)) for data in records]
    k = _keccak_256  # the C hash object called in the loop itself: a Python call per hash costs as much as it
    return [k(k(data).digest()).digest() for data in records]


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative pair hash."""
    return keccak(a + b) if a <= b else keccak(b + a)


def _pair_hashes(layer: Sequence[bytes]) -> list[bytes]:
    """`hash_pair` of nodes 0 and 1, 2 and 3, … of a layer (inlined: a batch of 65,536 records hashes 65,535 pairs)."""
    pairs = zip(layer[::2], layer[1::2])
    if _keccak_256 is None:  # pragma: no cover - see the import above
        return [keccak(a + b if a <= b else b + a) for a, b in pairs]
    k = _keccak_256
    return [k(a + b if a <= b else b + a).digest() for a, b in pairs]


@dataclass(frozen=True)
class MerkleTree:
    """A tree over already-hashed 32-byte leaves, kept layer by layer for fast proofs."""

    layers: tuple[tuple[bytes, ...], ...]

    @classmethod
    def from_leaves(cls, leaves: Sequence[bytes]) -> MerkleTree:
        """Build the tree over `leaves` (each 32 bytes, e.g. from `leaf_hash`)."""
        if any(size != 32 for size in set(map(len, leaves))):  # the sizes gathered in C, looked at once
            raise ValueError(f"a Merkle leaf is 32 bytes, got {next(n for n in map(len, leaves) if n != 32)}")
        layers = [tuple(leaves)]
        while len(layers[-1]) > 1:
            below = layers[-1]
            above = _pair_hashes(below)
            if len(below) % 2:
                above.append(below[-1])
            layers.append(tuple(above))
        return cls(tuple(layers))

    @property
    def root(self) -> bytes:
        """The root; `EMPTY_ROOT` for a tree without leaves."""
        return self.layers[-1][0] if self.layers[0] else EMPTY_ROOT

    def __len__(self) -> int:
        return len(self.layers[0])

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes from leaf `index` up to the root."""
        if not 0 <= index < len(self):
            raise IndexError(f"leaf {index} is outside a tree of {len(self)} leaves")
        path = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                path.append(layer[sibling])
            index //= 2
        return path

    def proofs(self) -> list[tuple[bytes, ...]]:
        """Every leaf's proof at once (the same as `proof(i)` for each i, built a layer at a time)."""
        count = len(self)
        columns: list[list[bytes | None]] = []
        for depth, layer in enumerate(self.layers[:-1]):
            size = len(layer)
            # Node j's sibling is node j ^ 1 (none for an odd node carried up); leaf i sits under node i >> depth.
            siblings: list[bytes | None] = [None] * size
            even = size - size % 2
            siblings[0:even:2], siblings[1::2] = layer[1::2], layer[0:even:2]
            column = siblings if depth == 0 else _repeated(siblings, 1 << depth)
            columns.append(column[:count])
        proofs = list(zip(*columns)) if columns else [() for _ in range(count)]
        if not any(len(layer) % 2 for layer in self.layers[:-1]):  # no odd node carried up: no gaps to drop
            return proofs  # type: ignore[return-value]  # every sibling exists, so no None is in any proof
        return [p if None not in p else tuple(x for x in p if x is not None) for p in proofs]


def _repeated(values: list[bytes | None], times: int) -> list[bytes | None]:
    """Each of `values` `times` times in a row: zipping the list with itself keeps the loop in C (low layers
    have many nodes, repeated a few times); the few nodes of high layers are repeated by list product."""
    if times <= 64:
        return list(chain.from_iterable(zip(*repeat(values, times))))
    return list(chain.from_iterable([value] * times for value in values))


def verify(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when `proof` leads from `leaf` to `root` (the check `MerkleProof.verify` makes)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root

"""Secure-aggregation maths: Shamir round trips and exact sums under any dropout pattern, over many seeds."""

from __future__ import annotations

import random
import secrets

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from compute.errors import EncodingOverflow
from compute.secagg import masking, shamir

N, T, DIM = 10, 6, 16


@pytest.mark.parametrize(("n", "t"), [(2, 2), (5, 3), (10, 6), (10, 10)])
def test_shamir_any_threshold_subset_recovers(n, t) -> None:
    secret = secrets.randbits(256)
    shares = shamir.split(secret, range(1, n + 1), t)
    for _ in range(5):
        subset = random.sample(sorted(shares), t)
        assert shamir.combine({x: shares[x] for x in subset}) == secret
    fewer = random.sample(sorted(shares), t - 1)
    if t > 1:
        assert shamir.combine({x: shares[x] for x in fewer}) != secret


def simulate(
    seed: int, drop_before_masked: set[int], drop_after_masked: set[int]
) -> tuple[np.ndarray | None, np.ndarray]:
    """One aggregation in pure maths: None when fewer than T clients could answer the unmask stage."""
    rng = np.random.default_rng(seed)
    xs = {u: rng.integers(-(2**40), 2**40, size=DIM) for u in range(N)}
    keys = {u: X25519PrivateKey.generate() for u in range(N)}
    pubs = {u: k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for u, k in keys.items()}
    self_seeds = {u: secrets.token_bytes(32) for u in range(N)}
    key_shares = {
        u: shamir.split(int.from_bytes(keys[u].private_bytes_raw(), "big"), range(1, N + 1), T) for u in range(N)
    }
    seed_shares = {u: shamir.split(int.from_bytes(self_seeds[u], "big"), range(1, N + 1), T) for u in range(N)}
    u2 = list(range(N))
    u3 = [u for u in u2 if u not in drop_before_masked]
    masked = {
        u: masking.masked_input(
            masking.encode_vector(xs[u], 0, N),
            self_seeds[u],
            u,
            {v: masking.pair_seed(keys[u], pubs[v], u, v) for v in u2 if v != u},
        )
        for u in u3
    }
    u4 = [u for u in u3 if u not in drop_after_masked]
    expected = sum(xs[u] for u in u3)
    if len(u3) < T or len(u4) < T:
        return None, expected
    dropped = [d for d in u2 if d not in u3]
    answers = {
        v: masking.unmask_shares({u: (key_shares[u][v + 1], seed_shares[u][v + 1]) for u in u2}, u3, dropped)
        for v in u4
    }
    seeds = {u: shamir.combine({v + 1: answers[v]["b"][u] for v in u4}).to_bytes(32, "big") for u in u3}
    pairs = []
    for d in dropped:
        key = X25519PrivateKey.from_private_bytes(
            shamir.combine({v + 1: answers[v]["key"][d] for v in u4}).to_bytes(32, "big")
        )
        pairs += [(u, d, masking.pair_seed(key, pubs[u], u, d)) for u in u3]
    return masking.decode_vector(masking.unmask(masked, seeds, pairs, DIM), 0), expected


@pytest.mark.parametrize("seed", range(12))
def test_any_zero_to_four_dropouts_at_either_stage_give_the_exact_sum(seed) -> None:
    rng = random.Random(seed)
    for dropouts in range(5):
        for stage in ("before", "after", "mixed"):
            out = set(rng.sample(range(N), dropouts))
            before = out if stage == "before" else set() if stage == "after" else set(list(out)[: dropouts // 2])
            total, expected = simulate(seed * 100 + dropouts, before, out - before)
            assert total is not None and np.array_equal(total, expected), (dropouts, stage)


@pytest.mark.parametrize("seed", range(4))
def test_five_dropouts_release_nothing(seed) -> None:
    rng = random.Random(seed)
    out = set(rng.sample(range(N), 5))
    split = rng.randint(0, 5)
    total, _ = simulate(seed, set(list(out)[:split]), set(list(out)[split:]))
    assert total is None


def test_masked_input_alone_carries_no_plaintext() -> None:
    x = masking.encode_vector(np.arange(DIM), 0, N)
    y = masking.masked_input(x, secrets.token_bytes(32), 0, {})
    assert not np.any(y == x)  # 2^-64 per entry by chance


def test_a_client_never_reveals_both_shares_of_one_client() -> None:
    held = {u: (u * 10, u * 10 + 1) for u in range(4)}
    answer = masking.unmask_shares(held, accepted=[0, 1], dropped=[2])
    assert answer == {"b": {0: 1, 1: 11}, "key": {2: 20}}
    with pytest.raises(ValueError, match="both accepted and dropped"):
        masking.unmask_shares(held, accepted=[0, 2], dropped=[2])


def test_encoding_refuses_values_that_could_wrap() -> None:
    with pytest.raises(EncodingOverflow):
        masking.encode_vector(np.array([2**62]), 0, 10)
    with pytest.raises(EncodingOverflow):
        masking.encode_vector(np.array([np.nan]), 8, 2)
    floats = np.array([1.5, -2.25])
    assert np.array_equal(masking.decode_vector(masking.encode_vector(floats, 8, 2), 8), floats)

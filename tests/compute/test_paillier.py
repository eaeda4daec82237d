"""The fast Paillier layer: round trips, agreement with phe, range checks, pools, workers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phe import paillier

from compute.errors import EncodingOverflow
from compute.paillier import (
    CiphertextOutOfRange,
    Decryptor,
    EncryptedVector,
    Encryptor,
    FreshObfuscation,
    KeyMismatch,
    ObfuscatorsExhausted,
    PrecomputedObfuscation,
    ShortExponentObfuscation,
    generate_keypair,
)


@pytest.fixture(scope="module")
def keypair():
    return generate_keypair(1024)


def _obfuscations(public):
    pool = PrecomputedObfuscation(public)
    pool.precompute(16)
    return {"fresh": FreshObfuscation(public), "precomputed": pool, "short-exponent": ShortExponentObfuscation(public)}


VALUES = np.array([0.0, 1.0, -1.0, 3.14159, -2.5e-6, 123456.789, -98765.4321, 1e-9])


@pytest.mark.parametrize("kind", ["fresh", "precomputed", "short-exponent"])
def test_encrypt_then_decrypt_returns_values_for_every_obfuscation(keypair, kind):
    encryptor = Encryptor(keypair.public, _obfuscations(keypair.public)[kind])

    decrypted = Decryptor(keypair.private).decrypt(encryptor.encrypt(VALUES))

    np.testing.assert_allclose(decrypted, VALUES, atol=1e-9)


def test_round_trip_at_2048_bits_agrees_with_phe():
    keys = generate_keypair(2048)
    vector = Encryptor(keys.public, ShortExponentObfuscation(keys.public)).encrypt(VALUES[:3])

    ours = Decryptor(keys.private).decrypt(vector)
    theirs = [keys.private.decrypt(x) for x in vector.to_phe()]

    np.testing.assert_allclose(ours, VALUES[:3], atol=1e-9)
    np.testing.assert_allclose(theirs, VALUES[:3], atol=1e-9)


def test_phe_ciphertexts_decrypt_here_and_phe_algebra_agrees(keypair):
    phe_numbers = [keypair.public.encrypt(float(v)) for v in VALUES]
    vector = EncryptedVector.from_phe(phe_numbers)
    ours = Encryptor(keypair.public).encrypt(VALUES)

    phe_sum = [a + b for a, b in zip(ours.to_phe(), phe_numbers)]
    phe_scaled = [x * 3 for x in ours.to_phe()]

    decryptor = Decryptor(keypair.private)
    np.testing.assert_allclose(decryptor.decrypt(vector), VALUES, atol=1e-9)
    np.testing.assert_allclose([keypair.private.decrypt(x) for x in phe_sum], 2 * VALUES, atol=1e-8)
    np.testing.assert_allclose([keypair.private.decrypt(x) for x in phe_scaled], 3 * VALUES, atol=1e-8)
    np.testing.assert_allclose(decryptor.decrypt(ours + vector), 2 * VALUES, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=6),
    st.floats(min_value=-100, max_value=100, allow_nan=False),
)
def test_homomorphic_operations_match_plaintext(keypair, values, scalar):
    x = np.array(values)
    encryptor, decryptor = Encryptor(keypair.public), Decryptor(keypair.private)
    enc = encryptor.encrypt(x)

    np.testing.assert_allclose(decryptor.decrypt(enc + enc.add_plain(x)), 3 * x, atol=1e-6)
    np.testing.assert_allclose(
        decryptor.decrypt(enc.mul_plain(scalar, -4)), x * np.round(scalar * 16**4) / 16**4, atol=1e-5
    )
    np.testing.assert_allclose(decryptor.decrypt(enc.total()), [x.sum()], atol=1e-6)


def test_transposed_matrix_product_matches_numpy_with_negative_entries(keypair):
    rng = np.random.default_rng(1)
    d, matrix = rng.normal(size=40), rng.normal(size=(40, 5))
    enc = Encryptor(keypair.public).encrypt(d)

    product = Decryptor(keypair.private).decrypt(enc.rmatmul(matrix, exponent=-4))

    encoded = np.round(matrix * 16**4) / 16**4
    np.testing.assert_allclose(product, encoded.T @ d, atol=1e-6)


def test_two_workers_give_the_same_results_as_one(keypair):
    rng = np.random.default_rng(2)
    values, matrix = rng.normal(size=80), rng.normal(size=(80, 3))
    enc = Encryptor(keypair.public, workers=2).encrypt(values)

    one = Decryptor(keypair.private, workers=1).decrypt(enc.rmatmul(matrix, workers=1))
    two = Decryptor(keypair.private, workers=2).decrypt(enc.rmatmul(matrix, workers=2))

    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(Decryptor(keypair.private, workers=2).decrypt(enc), values, atol=1e-9)


@pytest.mark.parametrize("bad", ["zero", "n_squared", "above", "shares_factor"])
def test_decrypt_rejects_ciphertexts_outside_the_group(keypair, bad):
    n, nsquare = keypair.public.n, keypair.public.nsquare
    c = {"zero": 0, "n_squared": nsquare, "above": nsquare + 12345, "shares_factor": keypair.private.p * 7}[bad]

    with pytest.raises(CiphertextOutOfRange):
        Decryptor(keypair.private).decrypt(EncryptedVector(keypair.public, [c], -8))
    if bad != "shares_factor":
        with pytest.raises(CiphertextOutOfRange):
            EncryptedVector.from_phe([paillier.EncryptedNumber(keypair.public, c, -8)])
    assert n  # the key is real


def test_decrypt_refuses_another_keys_ciphertexts(keypair):
    other = generate_keypair(1024)
    enc = Encryptor(other.public).encrypt(VALUES[:2])

    with pytest.raises(KeyMismatch):
        Decryptor(keypair.private).decrypt(enc)
    with pytest.raises(KeyMismatch):
        enc + Encryptor(keypair.public).encrypt(VALUES[:2])


def test_precomputed_pool_uses_each_obfuscator_once_and_then_refuses(keypair):
    pool = PrecomputedObfuscation(keypair.public)
    pool.precompute(4)
    encryptor = Encryptor(keypair.public, pool)

    first = encryptor.encrypt(np.ones(2))
    second = encryptor.encrypt(np.ones(2))

    assert set(first.ciphertexts).isdisjoint(second.ciphertexts)
    assert first.ciphertexts[0] != first.ciphertexts[1]
    assert pool.offline_seconds > 0
    with pytest.raises(ObfuscatorsExhausted):
        encryptor.encrypt(np.ones(1))


def test_encoding_refuses_values_the_key_cannot_hold(keypair):
    with pytest.raises(EncodingOverflow):
        Encryptor(keypair.public).encrypt(np.array([np.nan]))
    with pytest.raises(EncodingOverflow):
        Encryptor(keypair.public).encrypt_encoded([keypair.public.n], -8)

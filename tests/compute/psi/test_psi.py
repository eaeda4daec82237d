"""PSI (RSA blind signatures and X25519 ECDH): exact against plaintext, private, and abort on abuse."""

from __future__ import annotations

import hashlib
import random

import pytest

from compute.errors import InvalidInput, NotAParty
from compute.psi import psi_ecdh, psi_rsa
from compute.psi.ecdh import hash_to_u
from compute.psi.rsa import RsaKey, full_domain_hash

PROTOCOLS = [psi_ecdh, psi_rsa]


def id_sets(seed: int, left: int, right: int, common: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    pool = [f"cust-{rng.getrandbits(48):012x}" for _ in range(left + right)]
    shared = pool[:common]
    return shared + pool[common:left], shared + pool[left : left + right - common]


@pytest.mark.parametrize("psi", PROTOCOLS)
@pytest.mark.parametrize(("left", "right", "common"), [(0, 5, 0), (50, 80, 0), (120, 60, 60), (200, 300, 37)])
def test_intersection_matches_plaintext(psi, make_parties, left, right, common) -> None:
    receiver, sender = make_parties(2)
    mine, theirs = id_sets(left * 7 + right, left, right, common)
    result = psi(receiver, sender, {receiver.address: mine, sender.address: theirs}, job_id=11, reveal_size=True)
    assert result.value == sorted(set(mine) & set(theirs))
    assert result.parties[1].extra["intersection_size"] == len(set(mine) & set(theirs))
    assert [m.rows for m in result.parties] == [len(mine), len(theirs)]
    assert len(result.transcript_root) == 32 and len(result.result_hash) == 32


@pytest.mark.parametrize("psi", PROTOCOLS)
def test_sender_learns_nothing_unless_size_is_configured(psi, make_parties) -> None:
    receiver, sender = make_parties(2)
    mine, theirs = id_sets(3, 30, 30, 10)
    result = psi(receiver, sender, {receiver.address: mine, sender.address: theirs}, job_id=12, record_view=True)
    assert result.parties[1].extra == {"learns": "nothing", "intersection_size": None}


@pytest.mark.parametrize("psi", PROTOCOLS)
def test_each_partys_view_holds_no_raw_or_hashed_id_of_the_other(psi, make_parties, monkeypatch) -> None:
    from compute import session

    receiver, sender = make_parties(2)
    mine, theirs = id_sets(5, 40, 40, 15)
    views, views_by_step = {}, {}
    real = session.run_role

    def keep_view(channel, role):
        outcome = real(channel, role)
        views[channel.address] = b"".join(payload for _, _, payload in outcome.view)
        views_by_step[channel.address] = outcome.view
        return outcome

    monkeypatch.setattr(session, "run_role", keep_view)
    psi(receiver, sender, {receiver.address: mine, sender.address: theirs}, job_id=13, record_view=True)
    for _owner, other_ids, viewer in ((receiver, mine, sender), (sender, theirs, receiver)):
        view = views[viewer.address]
        assert view, "the viewer received messages"
        for ident in other_ids:
            assert ident.encode() not in view
            assert hash_to_u(13, ident) not in view  # the unblinded curve point
            assert hashlib.sha256(ident.encode()).digest() not in view
    if psi is psi_rsa:  # the key holder sees only blinded values, never H(y) itself
        import json

        n = int(json.loads(next(p for _, step, p in views_by_step[receiver.address] if step == "public-key"))["n"], 16)
        for ident in mine:
            assert full_domain_hash(13, ident, n).to_bytes(256, "big") not in views[sender.address]


def test_rsa_key_has_three_primes_and_full_length() -> None:
    key = RsaKey.generate()
    product = 1
    for p in key.primes:
        product *= p
    assert product == key.n and key.n.bit_length() == 2048 and len(set(key.primes)) == 3
    h = full_domain_hash(1, "x", key.n)
    assert pow(pow(h, key.exponents[0], key.primes[0]), 65537, key.primes[0]) == h % key.primes[0]


@pytest.mark.parametrize("psi", PROTOCOLS)
def test_input_from_outside_the_job_is_refused(psi, make_parties) -> None:
    receiver, sender, outsider = make_parties(3)
    with pytest.raises(NotAParty) as excinfo:
        psi(receiver, sender, {receiver.address: ["a"], sender.address: ["a"], outsider.address: ["a"]}, job_id=1)
    assert excinfo.value.party == outsider.address
    with pytest.raises(InvalidInput):
        psi(receiver, sender, {receiver.address: ["a"]}, job_id=1)


def test_worker_pool_gives_the_same_points_as_one_core() -> None:
    import secrets

    from compute.psi import ecdh
    from compute.psi.parallel import map_batches, map_blob

    scalar, idents = secrets.token_bytes(32), [f"id{i}" for i in range(40)]
    hashed = ecdh._hash_and_multiply(scalar, 3, idents)
    assert b"".join(map_batches(ecdh._hash_and_multiply, idents, scalar, 3, parallel=True)) == hashed
    assert map_blob(ecdh._multiply, hashed, 32, scalar, parallel=True) == ecdh._multiply(scalar, hashed)


@pytest.mark.parametrize("psi", PROTOCOLS)
def test_int_ids_intersect_and_match_their_decimal_text(psi, make_parties) -> None:
    receiver, sender = make_parties(2)
    result = psi(receiver, sender, {receiver.address: [3, 1, 2, 10], sender.address: ["2", "3", "4"]}, job_id=12)
    assert result.value == [2, 3]


@pytest.mark.parametrize("psi", PROTOCOLS)
@pytest.mark.parametrize(
    ("ids", "match"),
    [([1, "1"], "mix str and int"), ([1.5], "float"), ([True], "bool"), ([None], "NoneType"), ("abc", "collection")],
)
def test_ids_of_other_types_are_refused_naming_their_owner(psi, make_parties, ids, match) -> None:
    receiver, sender = make_parties(2)
    with pytest.raises(InvalidInput, match=match) as excinfo:
        psi(receiver, sender, {receiver.address: ["a"], sender.address: ids}, job_id=13)
    assert sender.address in str(excinfo.value)


def test_a_script_without_a_main_guard_runs_psi_over_the_worker_pool(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from compute.psi.parallel import INLINE_BELOW

    script = tmp_path / "no_guard.py"
    script.write_text(
        "from compute.party import Party\n"
        "from compute.psi import psi_ecdh\n"
        "a, b = Party.generate(), Party.generate()\n"
        f"ids = list(range({INLINE_BELOW + 4}))\n"  # large enough for the worker pool
        "r = psi_ecdh(a, b, {a.address: ids, b.address: ids[::2]}, job_id=1)\n"
        "print(len(r.value))\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str((INLINE_BELOW + 4 + 1) // 2)

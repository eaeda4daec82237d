"""PSI throughput (ids per side per second, both parties in this process on this machine's cores).

Wall-clock rates depend on what else the machine runs; each protocol line has a twin
`…_per_cpu_second` (ids per CPU-second of this process and its worker pool), and the
single-core baselines are CPU time, so ratios stay meaningful on a busy machine: on two idle
cores the wall-clock rate approaches 2 × the per-CPU-second rate.

Baselines measured in the same run: for ECDH, the same X25519 protocol run serially on one
core (and openmined-psi, P-256, one thread, when installed: `pip install -e '.[bench]'`);
for RSA, two-prime RSA-2048 blind signing with gmpy2 and CRT on one core. Extra lines say
where the time goes: the raw scalar-multiplication rate over all cores, and the cost of
sealing (encrypt + sign) and opening a message as large as the biggest PSI message.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from report import emit

from compute.party import Party
from compute.psi import ecdh, psi_ecdh, psi_rsa, rsa
from compute.psi.parallel import map_blob, warm_up


def id_sets(n: int) -> tuple[list[str], list[str]]:
    """Two sets of n ids each, half of them shared."""
    return [f"id-{i:09d}" for i in range(n)], [f"id-{i:09d}" for i in range(n // 2, n + n // 2)]


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (all threads) and the live worker pool."""
    from compute.psi import parallel

    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in list(getattr(parallel._pool, "_processes", {}) or {}):
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def protocol_rate(run, n: int) -> tuple[float, float]:
    """Ids per side per second of one full run (key setup, transport, transcript included), and per CPU-second."""
    receiver, sender = Party.generate(), Party.generate()
    mine, theirs = id_sets(n)
    cpu, start = cpu_seconds(), time.perf_counter()
    result = run(receiver, sender, {receiver.address: mine, sender.address: theirs}, job_id=n, timeout=3600)
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    assert len(result.value) == n // 2, "wrong intersection"
    return n / elapsed, n / used


def serial_x25519_rate(n: int) -> float:
    """The same DH-PSI on one core, unbatched: four scalar multiplications per id pair."""
    mine, theirs = id_sets(n)
    a, b = secrets.token_bytes(32), secrets.token_bytes(32)
    start = time.process_time()  # one thread: CPU time is what it would take on an idle core
    blinded = ecdh._hash_and_multiply(b, 1, mine)
    doubled = ecdh._multiply(a, blinded)
    own = ecdh._hash_and_multiply(a, 1, theirs)
    theirs_doubled = ecdh._multiply(b, own)
    matches = {theirs_doubled[i : i + 32] for i in range(0, len(theirs_doubled), 32)}
    found = sum(doubled[i : i + 32] in matches for i in range(0, len(doubled), 32))
    assert found == n // 2
    return n / (time.process_time() - start)


def openmined_rate(n: int) -> float | None:
    """openmined-psi (ECDH on P-256, one thread), raw protocol without transport, or None if absent."""
    try:
        import private_set_intersection.python as ompsi
    except ImportError:
        return None
    mine, theirs = id_sets(n)
    start = time.process_time()  # one thread: CPU time is what it would take on an idle core
    client = ompsi.client.CreateWithNewKey(True)
    server = ompsi.server.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(1e-9, len(mine), theirs, ompsi.DataStructure.RAW)
    response = server.ProcessRequest(client.CreateRequest(mine))
    assert len(client.GetIntersection(setup, response)) == n // 2
    return n / (time.process_time() - start)


def rsa_two_prime_rate(n: int) -> float:
    """Blind signatures per second with a two-prime RSA-2048 key (gmpy2, CRT), one core."""
    key = rsa.RsaKey.generate(count=2)
    import gmpy2

    p, q = (gmpy2.mpz(x) for x in key.primes)
    dp, dq = (gmpy2.mpz(x) for x in key.exponents)
    q_inv = gmpy2.invert(q, p)
    values = [gmpy2.mpz(secrets.randbelow(key.n)) for _ in range(n)]
    start = time.process_time()
    for x in values:
        sq = gmpy2.powmod(x, dq, q)
        sp = gmpy2.powmod(x, dp, p)
        _ = sq + q * (((sp - sq) * q_inv) % p)
    return n / (time.process_time() - start)


def pool_multiplication_rate(n: int) -> tuple[float, float]:
    """X25519 scalar multiplications per second over the pool, and on one core."""
    scalar = secrets.token_bytes(32)
    points = secrets.token_bytes(32 * n)
    start = time.perf_counter()
    map_blob(ecdh._multiply, points, 32, scalar, parallel=True)
    pooled = n / (time.perf_counter() - start)
    start = time.perf_counter()
    ecdh._multiply(scalar, points[: 32 * (n // 4)])
    return pooled, (n // 4) / (time.perf_counter() - start)


def seal_rate(size: int) -> float:
    """MB per second to seal and open one message of `size` bytes (ChaCha20-Poly1305 + keccak + secp256k1)."""
    from compute.envelope import Header, open_payload, parse, seal, verify_signature

    a, b = Party.generate(), Party.generate()
    payload = secrets.token_bytes(size)
    start = time.perf_counter()
    envelope = seal(a, b.identity, Header(1, a.address, b.address, 0, "bench"), payload)
    parsed = parse(envelope)
    verify_signature(parsed)
    assert open_payload(b, a.identity, parsed) == payload
    return size / 1e6 / (time.perf_counter() - start)


def main() -> None:
    warm_up()  # a node keeps its worker pool; do not time its start-up
    serial = serial_x25519_rate(10_000)
    omp = openmined_rate(10_000)
    for n in (10_000, 100_000, 1_000_000):
        rate, per_cpu = protocol_rate(psi_ecdh, n)
        emit(f"psi_ecdh_x25519_{n}", rate, "ids/s", "same X25519 PSI serial on one core (10^4), CPU time", serial)
        emit(
            f"psi_ecdh_x25519_{n}_per_cpu_second",
            per_cpu,
            "ids/cpu-s",
            "same X25519 PSI serial on one core (10^4), CPU time",
            serial,
        )
        if omp is not None:
            emit(
                f"psi_ecdh_x25519_{n}_vs_openmined",
                rate,
                "ids/s",
                "openmined-psi P-256 one thread (10^4), CPU time",
                omp,
            )
            emit(
                f"psi_ecdh_x25519_{n}_per_cpu_second_vs_openmined",
                per_cpu,
                "ids/cpu-s",
                "openmined-psi P-256 one thread (10^4), CPU time",
                omp,
            )
    pooled, single = pool_multiplication_rate(200_000)
    emit("x25519_scalar_mult_all_cores", pooled, "mult/s", "X25519 scalar multiplication on one core", single)
    two_prime = rsa_two_prime_rate(2_000)
    for n in (10_000, 100_000):
        rate, per_cpu = protocol_rate(psi_rsa, n)
        emit(f"psi_rsa_blind_{n}", rate, "ids/s", "RSA-2048 two-prime CRT blind signing, one core", two_prime)
        emit(
            f"psi_rsa_blind_{n}_per_cpu_second",
            per_cpu,
            "ids/cpu-s",
            "RSA-2048 two-prime CRT blind signing, one core",
            two_prime,
        )
    three = rsa.RsaKey.generate()
    values = [secrets.randbelow(three.n) for _ in range(2_000)]
    start = time.process_time()
    rsa._sign_batch(three, values)
    emit(
        "rsa_three_prime_crt_sign",
        2_000 / (time.process_time() - start),
        "sig/s",
        "RSA-2048 two-prime CRT blind signing, one core",
        two_prime,
    )
    emit("envelope_seal_open_32MB", seal_rate(32_000_000), "MB/s", "envelope seal+open of 32 kB", seal_rate(32_000))


if __name__ == "__main__":
    main()

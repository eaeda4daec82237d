"""The validation loss under the protocol: the guest learns one number per iteration, nobody sees a row.

On the guest's held-out rows the surrogate splits as plain + Σ linear_i·U_i + Σ square_i·U_i²
(`schedule.validation_terms`), U = Σ_h u_h the hosts' partial scores. Host k sends [[u_k]],
then receives the encrypted sum of the earlier hosts' vectors [[E]] (ciphertexts of others,
so it cannot open them) and returns [[u_k² + 2·u_k·E]] row by row; summed over hosts that is
[[U²]]. The guest weights both vectors with its private coefficients, adds them up and has
the arbiter decrypt the masked total (the same masked decryption as a gradient): it learns
the validation loss, a single scalar; the hosts learn nothing but ciphertexts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compute.channel import Channel
from compute.fl.hetero_lr.arbiter import request_gradient
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_vector
from compute.party import Address

VALIDATION_FORWARD = "validation-forward"
EARLIER_HOSTS = "earlier-hosts"
SQUARES = "squares"


def host_validation_share(ch: Channel, cipher: FastCipher, guest: Address, scores: np.ndarray) -> None:
    """Host side: [[u_h]] on the validation rows, then [[u_h² + 2·u_h·Σ_{j<h} u_j]] row by row."""
    ch.send(guest, VALIDATION_FORWARD, pack_vector(cipher, cipher.encrypt(scores)))
    has_earlier = unpack(ch.recv(guest, EARLIER_HOSTS), guest, EARLIER_HOSTS)
    own = cipher.encrypt(scores * scores)
    if has_earlier is True:
        earlier = unpack_vector(cipher, ch.recv(guest, EARLIER_HOSTS), guest, EARLIER_HOSTS, len(scores))
        own = cipher.add(own, cipher.multiply(earlier, 2.0 * scores))
    ch.send(guest, SQUARES, pack_vector(cipher, own))


def guest_validation_loss(
    ch: Channel,
    cipher: FastCipher,
    hosts: Sequence[Address],
    arbiter: Address,
    terms: tuple[float, np.ndarray, np.ndarray],
) -> float:
    """Guest side: (plain + Σ linear·U + Σ square·U²) / rows, decrypted through the arbiter."""
    plain, linear, square = terms
    rows = len(linear)
    parts = [unpack_vector(cipher, ch.recv(h, VALIDATION_FORWARD), h, VALIDATION_FORWARD, rows) for h in hosts]
    earlier = None
    for host, part in zip(hosts, parts):
        ch.send(host, EARLIER_HOSTS, pack(earlier is not None))
        if earlier is not None:
            ch.send(host, EARLIER_HOSTS, pack_vector(cipher, earlier))
        earlier = part if earlier is None else cipher.add(earlier, part)
    assert earlier is not None
    squares = [unpack_vector(cipher, ch.recv(h, SQUARES), h, SQUARES, rows) for h in hosts]
    square_total = squares[0]
    for s in squares[1:]:
        square_total = cipher.add(square_total, s)
    total = cipher.add(cipher.rmatmul(earlier, linear[:, None]), cipher.rmatmul(square_total, square[:, None]))
    hidden = float(request_gradient(ch, cipher, arbiter, total, 1)[0])
    return (plain + hidden) / rows

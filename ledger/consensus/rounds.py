"""The writes that decide a round, each one etcd transaction whose guards make the outcomes exclusive.

A round (height h, round r) ends in exactly one of two ways, and etcd's compare-and-swap
decides which:
- `finalise`: writes `final/h` naming round r, only while round r is not abandoned and h
  has no final record;
- `abandon`: writes `abandoned/h/r`, only while h has no final record AND while at most
  `abandon_limit(n)` of the n validators have any seal key for the round's block. The
  transaction names every other validator's seal key as absent, so a seal written after the
  abandoner looked makes the abandonment fail.

Why the seal guard: an abandoned round holding a quorum of seals would let two blocks of one
height each carry a quorum (the abandoned one, and the one final in a later round); a newcomer
that checks only seals could then be handed either. Honest validators write a seal only while
the round is neither abandoned nor final (`seal`), so after abandonment only the at most
f = ⌊(n−1)/3⌋ faulty validators can still add seals to it: a round abandoned with at most
quorum − 1 − f seals can never reach a quorum. For n = 4 (quorum 3, f = 1) a round with two
seals is never abandoned; it waits for the others' seals (or for a majority that is up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_keys.datatypes import PrivateKey

from ledger.chain.sealing import sign_seal
from ledger.consensus.etcd import Compare, EtcdClient, absent, delete_op, present, put_op
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import FinalRecord, Proposal
from ledger.consensus.validators import quorum


def abandon_limit(n: int) -> int:
    """The most sealers a round of `n` validators may hold and still be abandoned: quorum − 1 − f."""
    return quorum(n) - 1 - (n - 1) // 3


def round_guards(ks: Keyspace, height: int, round_: int) -> list[Compare]:
    """Round r of h is current: not abandoned, h not final, and (r > 0) round r − 1 abandoned."""
    guards = [absent(ks.abandoned(height, round_)), absent(ks.final(height))]
    if round_ > 0:
        guards.append(present(ks.abandoned(height, round_ - 1)))
    return guards


@dataclass(frozen=True)
class Rounds:
    """The round-deciding writes of one chain's keyspace."""

    client: EtcdClient
    keyspace: Keyspace
    chain_id: int

    def seal(self, key: PrivateKey, height: int, round_: int, block_hash: bytes) -> bool:
        """Write our seal of `block_hash` only while the round is current and we have not sealed it yet."""
        ks = self.keyspace
        mine = ks.seal(key.public_key.to_canonical_address(), height, round_, block_hash)
        seal = sign_seal(key, self.chain_id, block_hash)
        return self.client.txn([absent(mine), *round_guards(ks, height, round_)], [put_op(mine, seal)])

    def propose(self, key: PrivateKey, proposal: Proposal) -> bool:
        """Write the proposal of its (height, round) and the proposer's own seal in one transaction.

        Guarded by the proposer's leadership, the round being current and the round having no
        proposal yet: one etcd write instead of two on the path to finality.
        """
        ks = self.keyspace
        height, round_ = proposal.height, proposal.round
        me = key.public_key.to_canonical_address()
        mine = ks.seal(me, height, round_, proposal.block_hash)
        guards = [
            absent(ks.proposal(height, round_)),
            absent(mine),
            Compare(ks.leader, me.hex().encode()),
            *round_guards(ks, height, round_),
        ]
        ops = [
            put_op(ks.proposal(height, round_), proposal.to_bytes()),
            put_op(mine, sign_seal(key, self.chain_id, proposal.block_hash)),
        ]
        return self.client.txn(guards, ops)

    def finalise(self, height: int, round_: int, block_hash: bytes) -> bool:
        """Record `block_hash` of round r final, unless the round is abandoned or h already final."""
        ks = self.keyspace
        record = FinalRecord(round_, block_hash).to_bytes()
        return self.client.create(ks.final(height), record, [absent(ks.abandoned(height, round_))])

    def abandon(
        self,
        height: int,
        round_: int,
        value: bytes,
        block_hash: bytes | None,
        validators: Iterable[bytes],
        sealed: Iterable[bytes],
    ) -> bool:
        """Mark round r of h abandoned; False if h is final, r already abandoned, or too many validators sealed.

        `sealed` is who the caller saw holding a seal key for `block_hash` in this round (valid
        or not: a key's presence is what the guard compares). Every other validator's seal key
        must still be absent when etcd applies the transaction. `block_hash` None: the proposal
        was unreadable, so no honest validator can have sealed anything in this round.
        """
        ks = self.keyspace
        guards = [absent(ks.final(height)), absent(ks.abandoned(height, round_))]
        if block_hash is not None:
            members = frozenset(validators)
            holding = members & frozenset(sealed)
            if len(holding) > abandon_limit(len(members)):
                return False
            guards += [absent(ks.seal(v, height, round_, block_hash)) for v in sorted(members - holding)]
        return self.client.txn(guards, [put_op(ks.abandoned(height, round_), value)])


def prune_ops(ks: Keyspace, org: bytes, below: int) -> list[dict[str, Any]]:
    """Delete-range operations for every proposal, abandoned marker, final record and `org`'s seals below `below`.

    Each node prunes after finality: the blocks are in its store with their seals, and a node
    that falls further behind takes them, checked, from its peers (`--peers`). The shared keys
    are pruned by every node alike (idempotent); seals only by their own validator, which is all
    etcd's key-range permissions allow. Evidence is kept.
    """
    ops = []
    for start, end in (
        (ks.proposal(0, 0), ks.proposal(below, 0)),
        (ks.abandoned(0, 0), ks.abandoned(below, 0)),
        (ks.final(0), ks.final(below)),
        (ks.seal(org, 0, 0, b""), ks.seal(org, below, 0, b"")),
    ):
        ops.append(delete_op(start, end))
    return ops

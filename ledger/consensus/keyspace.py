"""The consortium's etcd key layout, under `/custos/<chainId>/`.

    tx/<org>/<txhash>                       a transaction admitted by organisation <org>'s node (raw bytes)
    leader                                  the proposer's address, held by its lease
    proposal/<height>/<round>               the one proposal of (height, round), compare-and-create
    seal/<validator>/<height>/<round>/<hash>  one validator's seal of block <hash> (65 bytes)
    abandoned/<height>/<round>              the round failed; written only while <height> is not final
    final/<height>                          {"round", "hash"}: written only while that round is not abandoned
    evidence/<reporter>/<kind>/<height>/<round>/<offender>   what <reporter> saw <offender> do

Every per-organisation key starts with that organisation's address, so etcd's key-range
permissions can let each organisation write only its own transactions, seals and evidence.
Heights are zero-padded so that a range read returns them in order.
"""

from __future__ import annotations

from dataclasses import dataclass


def _a(address: bytes) -> bytes:
    return address.hex().encode()


def _h(height: int) -> bytes:
    return b"%012d" % height


def _r(round_: int) -> bytes:
    return b"%04d" % round_


@dataclass(frozen=True)
class Keyspace:
    """Key builders for one chain."""

    chain_id: int

    @property
    def root(self) -> bytes:
        """The prefix of every key of this chain."""
        return b"/custos/%d/" % self.chain_id

    def tx(self, org: bytes, tx_hash: bytes) -> bytes:
        """Where organisation `org`'s node writes an admitted transaction."""
        return self.root + b"tx/" + _a(org) + b"/" + tx_hash.hex().encode()

    @property
    def leader(self) -> bytes:
        """The proposer key (leased)."""
        return self.root + b"leader"

    def proposal(self, height: int, round_: int) -> bytes:
        """The proposal of (height, round)."""
        return self.root + b"proposal/" + _h(height) + b"/" + _r(round_)

    def seal(self, validator: bytes, height: int, round_: int, block_hash: bytes) -> bytes:
        """`validator`'s seal of `block_hash` at (height, round)."""
        return (
            self.root
            + b"seal/"
            + _a(validator)
            + b"/"
            + _h(height)
            + b"/"
            + _r(round_)
            + b"/"
            + block_hash.hex().encode()
        )

    def abandoned(self, height: int, round_: int) -> bytes:
        """The marker of an abandoned round."""
        return self.root + b"abandoned/" + _h(height) + b"/" + _r(round_)

    def final(self, height: int) -> bytes:
        """The finality record of `height`."""
        return self.root + b"final/" + _h(height)

    def evidence(self, reporter: bytes, kind: str, height: int, round_: int, offender: bytes) -> bytes:
        """An evidence record."""
        return (
            self.root
            + b"evidence/"
            + _a(reporter)
            + b"/"
            + kind.encode()
            + b"/"
            + _h(height)
            + b"/"
            + _r(round_)
            + b"/"
            + _a(offender)
        )


@dataclass(frozen=True)
class ParsedKey:
    """A key split into its kind and fields (fields absent for a kind are None)."""

    kind: str
    org: bytes | None = None
    height: int | None = None
    round: int | None = None
    block_hash: bytes | None = None
    tx_hash: bytes | None = None


def parse_key(keyspace: Keyspace, key: bytes) -> ParsedKey | None:
    """Split a key of `keyspace` into its fields; None for keys this node does not know (ignored)."""
    if not key.startswith(keyspace.root):
        return None
    parts = key[len(keyspace.root) :].split(b"/")
    try:
        kind = parts[0].decode()
        if kind == "leader" and len(parts) == 1:
            return ParsedKey("leader")
        if kind == "tx" and len(parts) == 3:
            return ParsedKey("tx", org=bytes.fromhex(parts[1].decode()), tx_hash=bytes.fromhex(parts[2].decode()))
        if kind in ("proposal", "abandoned") and len(parts) == 3:
            return ParsedKey(kind, height=int(parts[1]), round=int(parts[2]))
        if kind == "seal" and len(parts) == 5:
            return ParsedKey(
                "seal",
                org=bytes.fromhex(parts[1].decode()),
                height=int(parts[2]),
                round=int(parts[3]),
                block_hash=bytes.fromhex(parts[4].decode()),
            )
        if kind == "final" and len(parts) == 2:
            return ParsedKey("final", height=int(parts[1]))
        if kind == "evidence" and len(parts) == 6:
            return ParsedKey(
                "evidence", org=bytes.fromhex(parts[5].decode()), height=int(parts[3]), round=int(parts[4])
            )
    except (ValueError, UnicodeDecodeError):
        return None
    return None

"""Catch-up from a peer: fetch final blocks with their seals and commit each one only after checking it.

etcd holds the recent history (final records, proposals, seals) and the engine replays it;
for history that is no longer in etcd a node asks another organisation's node for
`debug_getRawBlock` and `custos_getBlockSeals`. Nothing the peer says is trusted: each block
must extend our head, carry seals from a quorum of the validators at its parent (recovered
here), satisfy the consortium's rules and re-execute to the same roots.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from ledger.chain.errors import HistoryError
from ledger.chain.sealing import SealError, recover_sealer
from ledger.consensus.replica import InvalidProposal, Replica
from ledger.consensus.validators import quorum, validators_at


class BlockSource(Protocol):
    """Where final blocks come from: another node over JSON-RPC, or a store in this process."""

    def raw_block(self, number: int) -> bytes | None:
        """The RLP of the canonical block at `number`, or None past the source's head."""

    def seals(self, block_hash: bytes) -> list[bytes]:
        """The seals the source holds for `block_hash`."""


class PeerSource:
    """A peer's JSON-RPC endpoint."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)

    def _call(self, method: str, params: list[object]) -> object:
        try:
            body = self._http.post(
                self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            ).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise HistoryError(f"peer {self.url}: {exc}") from None
        if "error" in body:
            raise HistoryError(f"peer {self.url}: {method} failed: {body['error'].get('message')}")
        return body.get("result")

    def raw_block(self, number: int) -> bytes | None:
        """See BlockSource."""
        raw = self._call("debug_getRawBlock", [hex(number)])
        return None if raw is None else bytes.fromhex(str(raw)[2:])

    def seals(self, block_hash: bytes) -> list[bytes]:
        """See BlockSource."""
        found = self._call("custos_getBlockSeals", ["0x" + block_hash.hex()])
        return [bytes.fromhex(s[2:]) for s in found] if isinstance(found, list) else []


class LocalSource:
    """Another store opened in this process (tests, and copying a node's history offline)."""

    def __init__(self, node: Replica) -> None:
        self.node = node

    def raw_block(self, number: int) -> bytes | None:
        """See BlockSource."""
        if number > self.node.head.block_number:
            return None
        return self.node.raw_block(self.node.header_by_number(number))

    def seals(self, block_hash: bytes) -> list[bytes]:
        """See BlockSource."""
        return self.node.seals_of(block_hash)


def catch_up(node: Replica, source: BlockSource, upto: int | None = None) -> int:
    """Import the source's final blocks after our head (up to `upto`); returns our new head height.

    Raises HistoryError at the first block that fails a check; the blocks before it stay committed.
    """
    while upto is None or node.head.block_number < upto:
        number = node.head.block_number + 1
        raw = source.raw_block(number)
        if raw is None:
            break
        try:
            block = node.decode_block(raw)
        except InvalidProposal as exc:
            raise HistoryError(f"block {number} from the peer: {exc}") from None
        validators = validators_at(node, node.head)
        sealers: dict[bytes, bytes] = {}
        for seal in source.seals(block.hash):
            try:
                sealers[recover_sealer(node.chain_id, block.hash, seal)] = seal
            except SealError:
                continue
        counted = sorted(set(sealers) & validators)
        if len(counted) < quorum(len(validators)):
            raise HistoryError(
                f"block {number} from the peer has {len(counted)} valid seals of the validators, "
                f"quorum {quorum(len(validators))}: not final, refused"
            )
        try:
            node.check_rules(block, block.header.coinbase, validators)
        except InvalidProposal as exc:
            raise HistoryError(f"block {number} from the peer: {exc}") from None
        node.commit_final(block, [sealers[s] for s in counted], None)
    return node.head.block_number

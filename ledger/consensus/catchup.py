"""Catch-up from a peer: fetch final blocks with their seals and commit each one only after checking it.

etcd holds the recent history (final records, proposals, seals) and the engine replays it;
for history that is no longer in etcd a node asks another organisation's node for
`debug_getRawBlock` and `custos_getBlockSeals`. Nothing the peer says is trusted: each block
must extend our head, carry seals from a quorum of the validators at its parent (recovered
here), satisfy the consortium's rules and re-execute to the same roots.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Protocol

import httpx

from ledger.chain.errors import HistoryError
from ledger.chain.permission import membership_version
from ledger.chain.sealing import SealError, recover_sealer
from ledger.consensus.replica import InvalidProposal, Replica
from ledger.consensus.validators import quorum, validators_at

log = logging.getLogger(__name__)


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

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PeerSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

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
        return None if raw is None else self._hex(raw, f"block {number}")

    def seals(self, block_hash: bytes) -> list[bytes]:
        """See BlockSource."""
        found = self._call("custos_getBlockSeals", ["0x" + block_hash.hex()])
        return [self._hex(s, "a seal") for s in found] if isinstance(found, list) else []

    def _hex(self, value: object, what: str) -> bytes:
        try:
            return bytes.fromhex(str(value).removeprefix("0x"))
        except ValueError:
            raise HistoryError(f"peer {self.url}: {what} is not hex") from None


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
    known: tuple[bytes, frozenset[bytes]] | None = None
    while upto is None or node.head.block_number < upto:
        number = node.head.block_number + 1
        raw = source.raw_block(number)
        if raw is None:
            break
        try:
            block = node.decode_block(raw)
        except InvalidProposal as exc:
            raise HistoryError(f"block {number} from the peer: {exc}") from None
        # The set is read again only when a block changed the membership contract (as the engine does).
        version = membership_version(node, node.head.state_root)
        if known is None or known[0] != version:
            known = (version, validators_at(node, node.head))
        validators = known[1]
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


def catch_up_from_peers(node: Replica, peers: list[str], upto: int) -> str | None:
    """Import the final blocks up to `upto` from the first peer that has them, checked as `catch_up` does.

    Returns None once our head moved, else why it could not (which blocks, and each peer's answer):
    the caller reports that instead of waiting silently.
    """
    wanted = f"blocks {node.head.block_number + 1}..{upto}"
    if not peers:
        return f"{wanted} are no longer in etcd, and no --peers are given to fetch them from"
    answers = []
    for url in peers:
        before = node.head.block_number
        try:
            with PeerSource(url) as source:
                catch_up(node, source, upto)
        except HistoryError as exc:
            answers.append(str(exc))
            if node.head.block_number > before:
                log.warning("catch-up from %s stopped at block %d: %s", url, node.head.block_number + 1, exc)
        else:
            answers.append(f"peer {url} has no block {before + 1}")
        if node.head.block_number > before:
            log.info("caught up blocks %d..%d from %s", before + 1, node.head.block_number, url)
            return None
    return f"{wanted} are neither in etcd nor at any peer ({'; '.join(answers)})"

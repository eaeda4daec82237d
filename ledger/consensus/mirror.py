"""A node's local copy of the chain's etcd keyspace, kept current by one watch stream.

The node reads the whole keyspace once, then follows etcd's watch from the next revision:
events arrive in revision order, which is the one order every node sees. When the stream
breaks (a member went away, a partition) the mirror reconnects with backoff to the next
member and re-reads the range, so nothing between the break and the reconnection is lost.
`connected` says whether the last read succeeded; a partitioned node sees False and, with no
new final records, cannot advance.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ledger.chain.sealing import sealed_by
from ledger.consensus.etcd import EtcdClient, EtcdError, KeyValue
from ledger.consensus.keyspace import Keyspace, ParsedKey, parse_key

log = logging.getLogger(__name__)

# A watch stream is re-opened (from the next revision) this often: it bounds how long `stop` waits.
WATCH_WINDOW = 1.0
BACKOFF_MAX = 1.0


@dataclass
class View:
    """The keyspace, by kind (what the protocol asks about)."""

    txs: dict[bytes, tuple[int, bytes, bytes]] = field(default_factory=dict)  # tx hash -> (revision, org, raw)
    leader: bytes | None = None
    proposals: dict[tuple[int, int], bytes] = field(default_factory=dict)
    seals: dict[tuple[int, int], dict[bytes, dict[bytes, bytes]]] = field(
        default_factory=dict
    )  # -> addr -> hash -> seal
    abandoned: set[tuple[int, int]] = field(default_factory=set)
    final: dict[int, bytes] = field(default_factory=dict)
    evidence: dict[bytes, bytes] = field(default_factory=dict)

    def holding(self, height: int, round_: int, block_hash: bytes) -> set[bytes]:
        """Who has a seal key for `block_hash` in (height, round), valid or not."""
        # Copies: the mirror thread adds seals while we read.
        return {v for v, by_hash in list(self.seals.get((height, round_), {}).items()) if block_hash in dict(by_hash)}

    def sealers(self, chain_id: int, height: int, round_: int, block_hash: bytes) -> set[bytes]:
        """Who has a valid seal of `block_hash` in (height, round)."""
        by_org = dict(self.seals.get((height, round_), {}))
        return {
            v
            for v in self.holding(height, round_, block_hash)
            if sealed_by(chain_id, block_hash, by_org[v][block_hash], v)
        }

    def apply(self, parsed: ParsedKey, key: bytes, kv: KeyValue, deleted: bool) -> None:
        """Apply one put or delete."""
        if parsed.kind == "tx":
            assert parsed.tx_hash is not None and parsed.org is not None
            if deleted:
                self.txs.pop(parsed.tx_hash, None)
            else:
                self.txs.setdefault(parsed.tx_hash, (kv.create_revision, parsed.org, kv.value))
        elif parsed.kind == "leader":
            self.leader = None if deleted else _address(kv.value)
        elif parsed.kind == "proposal":
            _put(self.proposals, (parsed.height, parsed.round), kv.value, deleted)
        elif parsed.kind == "abandoned":
            hr = (parsed.height or 0, parsed.round or 0)
            self.abandoned.discard(hr) if deleted else self.abandoned.add(hr)
        elif parsed.kind == "final":
            _put(self.final, parsed.height, kv.value, deleted)
        elif parsed.kind == "seal":
            assert parsed.org is not None and parsed.block_hash is not None
            by_org = self.seals.setdefault((parsed.height or 0, parsed.round or 0), {}).setdefault(parsed.org, {})
            _put(by_org, parsed.block_hash, kv.value, deleted)
        elif parsed.kind == "evidence":
            _put(self.evidence, key, kv.value, deleted)


def _put(table: dict[Any, Any], key: object, value: bytes, deleted: bool) -> None:
    if deleted:
        table.pop(key, None)
    else:
        table[key] = value


def _address(raw: bytes) -> bytes | None:
    try:
        return bytes.fromhex(raw.decode())
    except (ValueError, UnicodeDecodeError):
        return None


class Mirror:
    """Follows the chain's keyspace in a background thread; `changed` is notified on every event."""

    def __init__(self, client: EtcdClient, keyspace: Keyspace) -> None:
        self.client = client
        self.keyspace = keyspace
        self.view = View()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.connected = False
        self.revision = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Read the keyspace (retrying until etcd answers or `stop`) and follow it."""
        self._thread = threading.Thread(target=self._run, name="custos-etcd-mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (the watch ends within WATCH_WINDOW seconds)."""
        self._stopping = True
        with self.changed:
            self.changed.notify_all()

    def wait(self, timeout: float) -> None:
        """Block until an event arrives or `timeout` passes."""
        with self.changed:
            self.changed.wait(timeout)

    def forget_below(self, height: int) -> None:
        """Drop proposals, seals, round markers and final records of heights below `height` (kept in etcd)."""
        with self.changed:
            view = self.view
            view.proposals = {k: v for k, v in view.proposals.items() if k[0] >= height}
            view.seals = {k: v for k, v in view.seals.items() if k[0] >= height}
            view.abandoned = {k for k in view.abandoned if k[0] >= height}
            view.final = {k: v for k, v in view.final.items() if k >= height}

    def _reload(self) -> None:
        kvs, revision = self.client.range_prefix(self.keyspace.root)
        view = View()
        for kv in kvs:
            parsed = parse_key(self.keyspace, kv.key)
            if parsed is not None:
                view.apply(parsed, kv.key, kv, deleted=False)
        with self.changed:
            self.view, self.revision, self.connected = view, revision, True
            self.changed.notify_all()

    def _run(self) -> None:
        backoff = 0.05
        need_reload = True
        while not self._stopping:
            try:
                if need_reload:
                    self._reload()
                    need_reload = False
                for kind, kv in self.client.watch(self.keyspace.root, self.revision + 1, WATCH_WINDOW):
                    parsed = parse_key(self.keyspace, kv.key)
                    with self.changed:
                        if parsed is not None:
                            self.view.apply(parsed, kv.key, kv, deleted=kind == "DELETE")
                        self.revision = max(self.revision, kv.mod_revision)
                        self.connected = True
                        self.changed.notify_all()
                    if self._stopping:
                        return
                backoff = 0.05
            except EtcdError as exc:
                log.info("etcd mirror: %s; reconnecting", exc)
                with self.changed:
                    self.connected = False
                    self.changed.notify_all()
                need_reload = True
                time.sleep(backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)

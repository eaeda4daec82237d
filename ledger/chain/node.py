"""The embedded node: a durable py-evm chain, a permissioned pool, and a PoA block producer.

Every block is built from the pool, sealed, and committed to the store in one LMDB
transaction together with its receipts, indexes and seal. In `instant` mode (in-process
use) a block is sealed inside the submitting call; in `producer` mode (the HTTP server) a
thread seals whatever the pool holds as soon as arrivals pause (a few milliseconds), so
a burst, and whatever arrives while a block is being built, is batched into few blocks.
(Sealing a lone transaction inside its request was tried: a stream of transactions then
got one block each, and throughput fell tenfold.)
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth_keys.datatypes import PrivateKey
from eth_utils import ValidationError

from ledger.chain.admission import check_against_state, decode_raw
from ledger.chain.building import BuiltBlock, Candidate, build_block
from ledger.chain.chainspec import chain_class
from ledger.chain.errors import HistoryError, TxRejected
from ledger.chain.execution import CALL_TIME_LIMIT, Executor
from ledger.chain.genesis import SPEC_KEY, GenesisSpec, build_genesis, stored_spec
from ledger.chain.log_index import record_logs
from ledger.chain.permission import Permission
from ledger.chain.pool import MAX_POOL, TxPool
from ledger.chain.reader import SEAL_PREFIX, ChainReader, ReadView, seal_key
from ledger.chain.sealing import SealError, sign_seal, verify_seal
from ledger.chain.store import LMDBStore
from ledger.chain.verification import record_checkpoint, verified_checkpoint, verify_history

log = logging.getLogger(__name__)

STORE_DIR = "chain.lmdb"
# Producer batching: stop gathering after 3 ms without a new transaction, or after 50 ms.
GATHER_QUIET = 0.003
GATHER_MAX = 0.05


__all__ = ["SEAL_PREFIX", "STORE_DIR", "Node", "seal_key"]


class Node(ChainReader):
    """One validator's node over a store directory."""

    def __init__(self, store: LMDBStore, spec: GenesisSpec, validator: PrivateKey | None) -> None:
        self.store = store
        self.db = store
        self.spec = spec
        self.validators = frozenset(spec.validators)
        self.chain = chain_class(spec.chain_id)(store)
        self.lock = threading.RLock()
        self.pool = TxPool()
        self.permission = Permission(self)
        self.executor = Executor(self)
        self._validator = validator
        if validator is not None and validator.public_key.to_canonical_address() not in self.validators:
            raise HistoryError(f"key {validator.public_key.to_checksum_address()} is not a validator of this chain")
        self._wake = threading.Condition(self.lock)
        # Notified after every block commit and every drop (readers waiting for a pending tx).
        self._settled = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Without the producer thread: seal inside submit_raw (True) or leave it to produce_block().
        self.instant = True
        self._head: BlockHeaderAPI | None = None
        # Seconds an eth_call / eth_estimateGas may run (see ledger.chain.execution).
        self.call_time_limit = CALL_TIME_LIMIT
        self._receipt_cache: dict[bytes, tuple[ReceiptAPI, ...]] = {}

    # -- opening --
    @classmethod
    def create(cls, data_dir: Path, spec: GenesisSpec, validator: PrivateKey | None) -> Node:
        """Write genesis for `spec` into a new store under `data_dir` and open it (no key: a follower)."""
        store = LMDBStore(Path(data_dir) / STORE_DIR)
        if stored_spec(store) is not None:
            store.close()
            raise HistoryError(f"{data_dir} already holds a chain")
        build_genesis(store, spec)
        store[SPEC_KEY] = spec.to_json().encode()
        node = cls(store, spec, validator)
        record_checkpoint(node, node.head)
        store.commit()
        return node

    @classmethod
    def open(cls, data_dir: Path, validator: PrivateKey | None = None, verify: bool = True) -> Node:
        """Open an existing store, verifying every block's seal and link back to genesis."""
        if not (Path(data_dir) / STORE_DIR / "data.mdb").is_file():  # LMDB would create an empty store there
            raise HistoryError(f"{data_dir} holds no chain (run `custos chain init`)")
        store = LMDBStore(Path(data_dir) / STORE_DIR)
        spec = stored_spec(store)
        if spec is None:
            store.close()
            raise HistoryError(f"{data_dir} holds no chain (run `custos chain init`)")
        node = cls(store, spec, validator)
        if verify:
            try:
                node.verify_history()
            except HistoryError:
                store.close()
                raise
            except Exception as exc:  # noqa: BLE001 — damaged bytes make py-evm/rlp raise anything
                store.close()
                raise HistoryError(f"{data_dir}: the stored chain cannot be read: {exc or type(exc).__name__}") from exc
        return node

    def verify_history(self, full: bool = False, record: bool = True, from_genesis: bool = False) -> int:
        """Verify the stored chain (see `ledger.chain.verification`); returns the verified height."""
        with self.lock:
            return verify_history(self, full=full, record=record, from_genesis=from_genesis)

    def read_view(self) -> ReadView:
        """A consistent read snapshot of the last commit, for one request (close it after use)."""
        return ReadView(self)

    def close(self) -> None:
        """Stop producing and close the store."""
        self.stop()
        with self.lock:
            self.store.close()

    # -- reading --
    @property
    def validator_address(self) -> bytes | None:
        """This node's sealing address, if it holds a validator key."""
        return None if self._validator is None else self._validator.public_key.to_canonical_address()

    def decode_block(self, raw: bytes) -> BlockAPI:
        """Decode the RLP of a block that would extend our head (raises HistoryError)."""
        block_class = self.chain.get_vm_class_for_block_number(self.head.block_number + 1).get_block_class()
        try:
            return rlp.decode(raw, sedes=block_class)
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise HistoryError(f"rejected block: {exc}") from exc

    def check_block_permission(self, block: BlockAPI) -> None:
        """Raise HistoryError unless every transaction's sender is permitted on the parent (our head).

        A node that does not yet know the membership contract (still bootstrapping) cannot
        judge: the switch from the bootstrap rule to the contract (`close_bootstrap`) is
        recorded by each node, not in a block, so a replica replaying a chain whose producer
        has already switched would wrongly refuse members' blocks. It checks once it knows.
        """
        if self.membership is None:
            return
        for tx in block.transactions:
            refusal = self.permission.refusal(tx, tx.sender)
            if refusal is not None:
                raise HistoryError(f"rejected block {block.number}: transaction 0x{tx.hash.hex()}: {refusal}")

    def import_block(self, block: BlockAPI, seals: dict[bytes, bytes]) -> BlockHeaderAPI:
        """Validate `block` against our head and commit it with `seals` (stored under the block hash).

        The caller has checked the seals (one validator's here; a quorum in a consortium).
        Every transaction's sender must be permitted on the parent's state; py-evm then
        re-executes every transaction and rejects the block unless state, receipt and
        transaction roots match.
        """
        with self.lock:
            try:
                if block.header.parent_hash != self.head.hash:
                    raise HistoryError(f"block {block.number} does not extend our head {self.head.block_number}")
                self.check_block_permission(block)
                self.chain.import_block(block)
                for key, seal in seals.items():
                    self.store[key] = seal
                record_logs(self, block)
                self._advance_checkpoint(block.header)
                self.store.commit()
            except ValidationError as exc:
                self._abandon()
                raise HistoryError(f"rejected block: {exc}") from exc
            except BaseException:
                self._abandon()
                raise
            self._head = block.header
            self.pool_forget(block.transactions)
            return block.header

    def import_sealed_block(self, raw: bytes, seal: bytes) -> BlockHeaderAPI:
        """Verify a block sealed by one of our validators, re-execute it on our state, and commit it."""
        block = self.decode_block(raw)
        try:
            verify_seal(self.chain_id, block.header.hash, seal, self.validators)
        except SealError as exc:
            raise HistoryError(f"rejected block: {exc}") from exc
        return self.import_block(block, {seal_key(block.header.hash): seal})

    def _advance_checkpoint(self, header: BlockHeaderAPI) -> None:
        """Move the verified-height record to `header` if it stood on its parent."""
        checkpoint = verified_checkpoint(self)
        if checkpoint is not None and checkpoint[1] == header.parent_hash:
            record_checkpoint(self, header)

    def _abandon(self) -> None:
        """Drop whatever a failed block left buffered, and re-read the head."""
        self.store.rollback()
        self._head = None

    def pool_forget(self, transactions: tuple[SignedTransactionAPI, ...]) -> None:
        """Remove transactions a committed block included from the pool."""
        for tx in transactions:
            self.pool.remove(tx.hash)

    # -- admission --
    def submit_raw(self, raw: bytes) -> bytes:
        """Validate and admit a signed raw transaction; returns its hash (raises TxRejected)."""
        with self.lock:
            tx, sender = self.check_admission(raw)
            self.pool.add(tx, sender)
            if self._thread is None and self.instant:
                self.produce_block()
            else:
                self._wake.notify_all()
            return tx.hash

    # Consensus seam (ledger.consensus): the admission checks without admitting.
    def check_admission(self, raw: bytes) -> tuple[SignedTransactionAPI, bytes]:
        """Decode `raw` and run every admission check on the head; (tx, sender) or raises TxRejected."""
        with self.lock:
            tx = decode_raw(raw, self.chain_id)
            sender = tx.sender
            if self.pool.get(tx.hash) is not None or self._is_mined(tx.hash):
                raise TxRejected(f"already known: transaction 0x{tx.hash.hex()}")
            check_against_state(self, tx, sender)
            self.permission.check(tx, sender)
            if len(self.pool) >= MAX_POOL:
                raise TxRejected("txpool is full, try again later")
            return tx, sender

    def _is_mined(self, tx_hash: bytes) -> bool:
        try:
            self.chain.chaindb.get_transaction_index(tx_hash)
            return True
        except Exception:  # noqa: BLE001 — TransactionNotFound and lookup-key errors alike
            return False

    # -- block production --
    def produce_block(self) -> BlockHeaderAPI | None:
        """Seal one block from the pool (all that fits under the gas target); None if none applied."""
        if self._validator is None:
            raise TxRejected("this node holds no validator key and cannot seal blocks")
        with self.lock:
            try:
                return self._build_block()
            except BaseException:
                self._abandon()
                raise

    def build(self, candidates: list[Candidate]) -> BuiltBlock:
        """Execute `candidates` into an unsealed block on our head (buffered, not committed).

        Permission is checked per transaction as a block-validity rule. The caller either
        commits it (`commit_block`) or abandons it (`store.rollback()`).
        """
        if self.validator_address is None:
            raise TxRejected("this node holds no validator key and cannot build blocks")
        return build_block(
            self.chain,
            self.head,
            candidates,
            coinbase=self.validator_address,
            timestamp=int(time.time()),
            permitted=self.permission.refusal,
        )

    def commit_block(self, block: BlockAPI, seals: dict[bytes, bytes]) -> BlockHeaderAPI:
        """Persist a block built by `build` with its seals in one LMDB transaction; it becomes the head."""
        self.chain.chaindb.persist_block(block)
        return self.finish_block(block, seals)

    def finish_block(self, block: BlockAPI, seals: dict[bytes, bytes]) -> BlockHeaderAPI:
        """Commit the persisted `block` with its seals (one LMDB transaction); it becomes the head."""
        for key, seal in seals.items():
            self.store[key] = seal
        record_logs(self, block)  # the log index, in the block's own commit (ledger.chain.log_index)
        self._advance_checkpoint(block.header)
        self.store.commit()
        self._head = block.header
        self.pool_forget(block.transactions)
        self._announce()
        return block.header

    def _announce(self) -> None:
        with self._settled:
            self._settled.notify_all()

    def wait_while_pending(self, tx_hash: bytes, timeout: float) -> None:
        """Block (up to `timeout` s) while `tx_hash` waits in the pool for a block or a drop.

        A receipt query for a pending transaction waits for the block being sealed: clients
        such as ethers poll for a receipt once, then only look again when the block number
        moves, so answering null just before the block commits left them waiting forever.
        """
        deadline = time.monotonic() + timeout
        with self._settled:
            while self.pool.get(tx_hash) is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._settled.wait(remaining)

    def _build_block(self) -> BlockHeaderAPI | None:
        assert self._validator is not None
        mined = self.assemble_block(self.validator_address or b"\x00" * 20)
        if mined is None:
            return None
        seal = sign_seal(self._validator, self.chain_id, mined.hash)
        return self.finish_block(mined, {seal_key(mined.hash): seal})

    # Consensus seam (ledger.consensus): build without sealing or committing.
    def assemble_block(self, coinbase: bytes) -> BlockAPI | None:
        """Execute the pool into a block on the head and persist it into the store's overlay, uncommitted.

        Candidates that cannot be applied are dropped from the pool with their reason. The
        caller seals and commits it (`finish_block`), or sets the writes aside (a proposal
        awaiting its quorum); None when no transaction applied.
        """
        built = build_block(
            self.chain,
            self.head,
            [Candidate(e.tx, e.sender) for e in self.pool.ordered()],
            coinbase=coinbase,
            timestamp=int(time.time()),
            permitted=self.permission.refusal,
        )
        for dropped in built.dropped:
            log.warning("dropping transaction 0x%s: %s", dropped.tx_hash.hex(), dropped.reason)
            self.pool.drop(dropped)
        if not built.block.transactions:
            self.store.rollback()
            self._announce()
            return None
        self.chain.chaindb.persist_block(built.block)
        return built.block

    # -- producer thread --
    def start(self) -> None:
        """Seal blocks on a background thread whenever transactions wait."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="custos-producer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the producer thread (pending transactions stay in memory only)."""
        thread = self._thread
        if thread is None:
            return
        with self.lock:
            self._stopping = True
            self._wake.notify()
        thread.join()
        self._thread = None

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self._stopping and not self._ready():
                    self._wake.wait(timeout=1.0)
                if self._stopping:
                    return
                self._gather()
                try:
                    self._build_block()
                except Exception:  # noqa: BLE001 — keep sealing; the failed block was rolled back
                    self._abandon()
                    log.exception("block production failed")
                    # A bug, not a bad transaction (those are dropped): do not spin on it.
                    self._wake.wait(timeout=0.5)
            # Let request threads take the lock between blocks.
            time.sleep(0)

    def _gather(self) -> None:
        """Wait (lock released) while transactions keep arriving, up to GATHER_MAX seconds.

        Every block has fixed costs (state root, seal, one fsync'd commit); sealing the
        first transaction of a burst alone would make many tiny blocks. A lone transaction
        waits GATHER_QUIET at most.
        """
        deadline = time.monotonic() + GATHER_MAX
        size = len(self.pool)
        while not self._stopping and time.monotonic() < deadline:
            self._wake.wait(timeout=GATHER_QUIET)
            if len(self.pool) == size:
                return
            size = len(self.pool)

    def _ready(self) -> bool:
        return len(self.pool) > 0

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

from ledger.chain.chainspec import GAS_TARGET, CustosVM, chain_class
from ledger.chain.errors import HistoryError, InvalidTx, TxRejected
from ledger.chain.execution import Executor
from ledger.chain.genesis import GenesisSpec, build_genesis
from ledger.chain.permission import Permission
from ledger.chain.pool import MAX_NONCE_GAP, MAX_POOL, TxPool, fee_cap
from ledger.chain.sealing import SealError, sign_seal, validator_set_hash, verify_seal
from ledger.chain.store import LMDBStore

log = logging.getLogger(__name__)

SPEC_KEY = b"custos:genesis-spec"
SEAL_PREFIX = b"custos:seal:"
STORE_DIR = "chain.lmdb"
# Producer batching: stop gathering after 3 ms without a new transaction, or after 50 ms.
GATHER_QUIET = 0.003
GATHER_MAX = 0.05


def seal_key(block_hash: bytes) -> bytes:
    """Where the seal of `block_hash` is stored."""
    return SEAL_PREFIX + block_hash


class Node:
    """One validator's node over a store directory."""

    def __init__(self, store: LMDBStore, spec: GenesisSpec, validator: PrivateKey | None) -> None:
        self.store = store
        self.spec = spec
        self.chain_id = spec.chain_id
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
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Without the producer thread: seal inside submit_raw (True) or leave it to produce_block().
        self.instant = True
        self._head: BlockHeaderAPI | None = None
        self._receipt_cache: dict[bytes, tuple[ReceiptAPI, ...]] = {}

    # -- opening --
    @classmethod
    def create(cls, data_dir: Path, spec: GenesisSpec, validator: PrivateKey | None) -> Node:
        """Write genesis for `spec` into a new store under `data_dir` and open it (no key: a follower)."""
        store = LMDBStore(Path(data_dir) / STORE_DIR)
        if _has_genesis(store):
            store.close()
            raise HistoryError(f"{data_dir} already holds a chain")
        build_genesis(store, spec)
        store[SPEC_KEY] = spec.to_json().encode()
        store.commit()
        return cls(store, spec, validator)

    @classmethod
    def open(cls, data_dir: Path, validator: PrivateKey | None = None, verify: bool = True) -> Node:
        """Open an existing store, verifying every block's seal and link back to genesis."""
        store = LMDBStore(Path(data_dir) / STORE_DIR)
        try:
            raw = store[SPEC_KEY]
        except KeyError:
            store.close()
            raise HistoryError(f"{data_dir} holds no chain (run `custos chain init`)") from None
        node = cls(store, GenesisSpec.from_json(raw.decode()), validator)
        if verify:
            try:
                node.verify_history()
            except HistoryError:
                store.close()
                raise
        return node

    def close(self) -> None:
        """Stop producing and close the store."""
        self.stop()
        with self.lock:
            self.store.close()

    # -- reading --
    @property
    def head(self) -> BlockHeaderAPI:
        """The canonical head header (cached; only this node moves it)."""
        if self._head is None:
            self._head = self.chain.chaindb.get_canonical_head()
        return self._head

    @property
    def validator_address(self) -> bytes | None:
        """This node's sealing address, if it holds a validator key."""
        return None if self._validator is None else self._validator.public_key.to_canonical_address()

    def seal_of(self, block_hash: bytes) -> bytes | None:
        """The stored seal of `block_hash` (None for genesis, which the spec defines)."""
        try:
            return self.store[seal_key(block_hash)]
        except KeyError:
            return None

    def header_by_number(self, number: int) -> BlockHeaderAPI:
        """Canonical header at `number`; raises HeaderNotFound."""
        return self.chain.chaindb.get_canonical_block_header_by_number(number)

    def block(self, header: BlockHeaderAPI) -> BlockAPI:
        """The full block for `header`."""
        return self.chain.get_vm_class(header).get_block_class().from_header(header, self.chain.chaindb)

    def receipts(self, header: BlockHeaderAPI) -> tuple[ReceiptAPI, ...]:
        """Receipts of the block with `header` (cached: blocks are immutable)."""
        found = self._receipt_cache.get(header.hash)
        if found is None:
            builder = self.chain.get_vm_class(header).get_receipt_builder()
            found = tuple(self.chain.chaindb.get_receipts(header, builder))
            if len(self._receipt_cache) > 512:
                self._receipt_cache.clear()
            self._receipt_cache[header.hash] = found
        return found

    def verify_history(self) -> int:
        """Check genesis against the spec, then every block's parent link, header rules and seal."""
        genesis = self.header_by_number(0)
        if genesis.extra_data != validator_set_hash(self.spec.validators):
            raise HistoryError("genesis extraData does not commit to the validator set of the spec")
        parent = genesis
        for number in range(1, self.head.block_number + 1):
            header = self.header_by_number(number)
            if header.parent_hash != parent.hash:
                raise HistoryError(f"block {number} does not link to block {number - 1}")
            try:
                CustosVM.validate_header(header, parent)
                verify_seal(self.chain_id, header.hash, self.seal_of(header.hash), self.validators)
            except (SealError, ValidationError) as exc:
                raise HistoryError(f"block {number} rejected: {exc}") from exc
            parent = header
        return parent.block_number

    def raw_block(self, header: BlockHeaderAPI) -> bytes:
        """The RLP of the block with `header`: with its seal, all a follower needs to verify it."""
        return rlp.encode(self.block(header))

    def import_sealed_block(self, raw: bytes, seal: bytes) -> BlockHeaderAPI:
        """Verify a sealed block from another node, re-execute it on our state, and commit it.

        The seal must be a validator's over the block's hash; py-evm then re-executes every
        transaction and rejects the block unless state, receipt and transaction roots match.
        """
        with self.lock:
            try:
                block = self.chain.get_vm_class_for_block_number(self.head.block_number + 1).get_block_class()
                block = rlp.decode(raw, sedes=block)
                verify_seal(self.chain_id, block.header.hash, seal, self.validators)
                if block.header.parent_hash != self.head.hash:
                    raise HistoryError(f"block {block.number} does not extend our head {self.head.block_number}")
                self.chain.import_block(block)
                self.store[seal_key(block.header.hash)] = seal
                self.store.commit()
            except (SealError, ValidationError, rlp.DecodingError, rlp.DeserializationError) as exc:
                self.store.rollback()
                self._head = None
                raise HistoryError(f"rejected block: {exc}") from exc
            except BaseException:
                self.store.rollback()
                self._head = None
                raise
            self._head = block.header
            return block.header

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
            tx = self._decode(raw)
            sender = tx.sender
            if self.pool.get(tx.hash) is not None or self._is_mined(tx.hash):
                raise TxRejected(f"already known: transaction 0x{tx.hash.hex()}")
            self._check_against_state(tx, sender)
            self.permission.check(tx, sender)
            if len(self.pool) >= MAX_POOL:
                raise TxRejected("txpool is full, try again later")
            return tx, sender

    def _decode(self, raw: bytes) -> SignedTransactionAPI:
        try:
            tx = CustosVM.get_transaction_builder().decode(raw)
            tx.check_signature_validity()
            sender = tx.sender
        except Exception as exc:  # noqa: BLE001 — py-evm raises many types for bad bytes
            raise InvalidTx(f"invalid raw transaction: {exc or type(exc).__name__}") from exc
        if getattr(tx, "type_id", None) == 3:
            raise InvalidTx("blob transactions are not supported")
        if tx.chain_id is None:
            raise InvalidTx("transaction has no chain id (pre-EIP-155): replayable, not accepted")
        if tx.chain_id != self.chain_id:
            raise InvalidTx(f"wrong chain id {tx.chain_id}: this chain is {self.chain_id}")
        del sender
        return tx

    def _is_mined(self, tx_hash: bytes) -> bool:
        try:
            self.chain.chaindb.get_transaction_index(tx_hash)
            return True
        except Exception:  # noqa: BLE001 — TransactionNotFound and lookup-key errors alike
            return False

    def _check_against_state(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        state = self.executor.head_state()
        nonce = state.get_nonce(sender)
        if tx.nonce < nonce:
            raise TxRejected(f"nonce too low: next nonce {nonce}, tx nonce {tx.nonce}")
        if self.pool.has_nonce(sender, tx.nonce):
            raise TxRejected(f"replacement transaction not supported: nonce {tx.nonce} is already pending")
        expected = self.pool.next_nonce(sender, nonce)
        if tx.nonce > expected + MAX_NONCE_GAP:
            raise TxRejected(f"nonce too high: next nonce {expected}, tx nonce {tx.nonce}")
        if tx.gas > self.head.gas_limit:
            raise TxRejected(f"exceeds block gas limit: {tx.gas} > {self.head.gas_limit}")
        if tx.gas < tx.intrinsic_gas:
            raise TxRejected(f"intrinsic gas too low: {tx.gas} < {tx.intrinsic_gas}")
        cost = tx.gas * fee_cap(tx) + tx.value
        balance = state.get_balance(sender)
        if balance < cost:
            raise TxRejected(f"insufficient funds for gas * price + value: balance {balance}, cost {cost}")

    # -- block production --
    def produce_block(self) -> BlockHeaderAPI | None:
        """Seal one block from the pool (all that fits under the gas target); None if none applied."""
        if self._validator is None:
            raise TxRejected("this node holds no validator key and cannot seal blocks")
        with self.lock:
            try:
                return self._build_block()
            except BaseException:
                self.store.rollback()
                self._head = None
                raise

    def _build_block(self) -> BlockHeaderAPI | None:
        mined = self.assemble_block(self.validator_address or b"\x00" * 20)
        if mined is None:
            return None
        self.store[seal_key(mined.hash)] = sign_seal(self._validator, self.chain_id, mined.hash)
        self.store.commit()
        self._head = mined.header
        for tx in mined.transactions:
            self.pool.remove(tx.hash)
        return mined.header

    # Consensus seam (ledger.consensus): build without sealing or committing.
    def assemble_block(self, coinbase: bytes) -> BlockAPI | None:
        """Execute the pool into a block on the head and persist it into the store's overlay, uncommitted.

        The caller seals and commits it, or sets the writes aside (a proposal awaiting its
        quorum); None when no transaction applied.
        """
        parent = self.head
        header = self.chain.create_header_from_parent(
            parent,
            timestamp=max(int(time.time()), parent.timestamp),
            gas_limit=parent.gas_limit,
            coinbase=coinbase,
        )
        vm = self.chain.get_vm(header)
        included: list[SignedTransactionAPI] = []
        receipts: list[ReceiptAPI] = []
        declared = 0
        for entry in self.pool.ordered():
            tx = entry.tx
            if included and declared + tx.gas > GAS_TARGET:
                break
            expected = vm.state.get_nonce(entry.sender)
            if tx.nonce != expected:
                if tx.nonce < expected:
                    self.pool.remove(tx.hash)
                continue
            snapshot = vm.state.snapshot()
            try:
                receipt, _ = vm.apply_transaction(header, tx)
            except ValidationError as exc:
                vm.state.revert(snapshot)
                log.warning("dropping transaction 0x%s: %s", tx.hash.hex(), exc)
                self.pool.remove(tx.hash)
                continue
            header = vm.increment_blob_gas_used(vm.add_receipt_to_header(header, receipt), tx)
            included.append(tx)
            receipts.append(receipt)
            declared += tx.gas
        if not included:
            return None
        block = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, included, receipts)
        mined = vm.mine_block(block).block
        self.chain.chaindb.persist_block(mined)
        return mined

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
                    self.store.rollback()
                    self._head = None
                    log.exception("block production failed")
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


def _has_genesis(store: LMDBStore) -> bool:
    try:
        store[SPEC_KEY]
        return True
    except KeyError:
        return False

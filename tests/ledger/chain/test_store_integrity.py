"""Store integrity: damaged bytes are refused or detected, never served; backups restore; --full re-executes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import lmdb
import numpy as np
import pytest

from ledger.chain.encoding import block_json, receipt_json
from ledger.chain.errors import HistoryError, StoreCorrupted
from ledger.chain.node import STORE_DIR, Node, seal_key
from ledger.chain.sealing import sign_seal
from ledger.chain.server import ChainServer
from tests.ledger.chain.conftest import CHAIN_ID, MEMBERS, VALIDATOR, ChainDir, deploy_beacon, signed
from tests.waiting import wait_for

PING = bytes.fromhex("773acdef")  # Beacon.ping(uint256)
FLIPS = 60


def custos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custos", *args], capture_output=True, text=True, timeout=120)


def busy_chain(path: Path) -> tuple[str, list[bytes]]:
    """A chain with a contract, logs and transfers in several blocks; returns the contract and tx hashes."""
    node = Node.open(path, VALIDATOR)
    try:
        beacon = deploy_beacon(node)
        hashes = [node.submit_raw(signed(MEMBERS[0], n, beacon, PING + n.to_bytes(32, "big"))) for n in range(1, 5)]
        hashes += [node.submit_raw(signed(MEMBERS[1], n, MEMBERS[2].address, b"", gas=21_000)) for n in range(3)]
    finally:
        node.close()
    return beacon, hashes


def everything(path: Path, beacon: str) -> Any:
    """All a client can read of the chain, or the name of the error that stopped the read."""
    try:
        node = Node.open(path, VALIDATOR)
    except Exception as exc:  # noqa: BLE001 — any refusal to open counts as detected
        return f"refused: {type(exc).__name__}"
    try:
        out = []
        for number in range(node.head.block_number + 1):
            block = node.block(node.header_by_number(number))
            out.append(block_json(block, True))
            out.extend(receipt_json(node, block, i) for i in range(len(block.transactions)))
        state = node.chain.get_vm(node.head).state
        target = bytes.fromhex(beacon[2:])
        out.append([state.get_code(target).hex(), state.get_storage(target, 0)])
        accounts = [*node.spec.alloc, *(bytes.fromhex(m.address[2:]) for m in MEMBERS)]
        out.append([(state.get_balance(a), state.get_nonce(a), state.get_code(a)) for a in accounts])
        out.append([node.locate(tx.hash)[1] for tx in blocks_txs(node)])
        return out
    except Exception as exc:  # noqa: BLE001 — a read that fails is detected, not served
        return f"failed: {type(exc).__name__}"
    finally:
        node.close()


def live_value_offsets(store: Path) -> list[int]:
    """The file offset of the middle byte of every value LMDB's tree reaches now (not freed copies)."""
    env = lmdb.open(str(store), readonly=True, lock=False)
    try:
        # LMDB does not say where it mapped the file; the kernel does.
        data_file = str((store / "data.mdb").resolve())
        mapping = next(line for line in Path("/proc/self/maps").read_text().splitlines() if line.endswith(data_file))
        base = int(mapping.split("-")[0], 16) - int(mapping.split()[2], 16)
        with env.begin(buffers=True) as txn:
            return sorted(np.frombuffer(v, dtype=np.uint8).ctypes.data - base + len(v) // 2 for _, v in txn.cursor())
    finally:
        env.close()


def blocks_txs(node: Node) -> list[Any]:
    return [
        tx for n in range(1, node.head.block_number + 1) for tx in node.block(node.header_by_number(n)).transactions
    ]


def test_single_byte_flips_in_stored_values_are_never_served_as_valid_data(chain_dir: ChainDir, tmp_path: Path) -> None:
    beacon, _ = busy_chain(chain_dir.path)
    truth = everything(chain_dir.path, beacon)
    data = (chain_dir.path / STORE_DIR / "data.mdb").read_bytes()
    offsets = live_value_offsets(chain_dir.path / STORE_DIR)
    assert len(offsets) > FLIPS
    outcomes = {"identical": 0, "detected": 0}
    for offset in offsets[:: len(offsets) // FLIPS][:FLIPS]:
        damaged = tmp_path / "damaged"
        shutil.rmtree(damaged, ignore_errors=True)
        shutil.copytree(chain_dir.path, damaged)
        flipped = bytearray(data)
        flipped[offset] ^= 0x01
        (damaged / STORE_DIR / "data.mdb").write_bytes(bytes(flipped))
        seen = everything(damaged, beacon)
        if isinstance(seen, str):
            outcomes["detected"] += 1
        else:
            # A flip in a value no read consults (a score, a lookup cache) changes nothing served.
            assert seen == truth, f"flip at {offset} was served as valid data"
            outcomes["identical"] += 1
    # Most live values are read by a client; the rest (scores, the spec's unused fields) may stay identical.
    assert outcomes["detected"] >= FLIPS // 4, outcomes


def test_a_truncated_store_is_refused_with_a_clear_message(chain_dir: ChainDir) -> None:
    busy_chain(chain_dir.path)
    data = chain_dir.path / STORE_DIR / "data.mdb"
    os.truncate(data, data.stat().st_size // 2)
    result = custos("chain", "verify", str(chain_dir.path))
    assert result.returncode == 1 and "is truncated" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(StoreCorrupted, match="truncated"):
        Node.open(chain_dir.path, VALIDATOR)


def test_a_sealed_block_with_a_false_state_root_passes_the_quick_check_but_not_full_verification(
    chain_dir: ChainDir,
) -> None:
    node = Node.open(chain_dir.path, VALIDATOR)
    try:
        built = node.build([])
        lying = built.block.copy(header=built.header.copy(state_root=b"\x11" * 32))
        node.commit_block(lying, {seal_key(lying.hash): sign_seal(VALIDATOR, CHAIN_ID, lying.hash)})
    finally:
        node.close()
    assert custos("chain", "verify", str(chain_dir.path)).returncode == 0
    full = custos("chain", "verify", "--full", str(chain_dir.path))
    assert full.returncode == 1 and "block 1 does not re-execute" in full.stderr


def test_backup_taken_while_the_node_seals_restores_every_block_it_holds(chain_dir: ChainDir, tmp_path: Path) -> None:
    node = Node.open(chain_dir.path, VALIDATOR)
    server = ChainServer(node, port=0)
    server.start()
    stop = threading.Event()

    def load() -> None:
        nonce = 0
        while not stop.is_set() and nonce < 3_000:
            node.submit_raw(signed(MEMBERS[1], nonce, MEMBERS[2].address, b"", gas=21_000))
            nonce += 1

    writer = threading.Thread(target=load)
    writer.start()
    try:
        wait_for(lambda: node.head.block_number >= 5 or not writer.is_alive(), 60, "five blocks under load")
        assert writer.is_alive(), "the load stopped"
        result = custos("chain", "backup", str(chain_dir.path), str(tmp_path / "copy"))
        assert result.returncode == 0, result.stderr
        height_after = node.head.block_number
    finally:
        stop.set()
        writer.join(timeout=30)
        server.stop()
        node.close()
    restored = Node.open(tmp_path / "copy", VALIDATOR)
    try:
        assert 5 <= restored.head.block_number <= height_after
        assert restored.verify_history(full=True) == restored.head.block_number
        restored.submit_raw(signed(MEMBERS[0], 0, MEMBERS[2].address, b"", gas=21_000))
        assert restored.receipts(restored.head)[0].gas_used == 21_000
    finally:
        restored.close()
    with pytest.raises(HistoryError, match="not empty"):
        from ledger.chain.backup import backup_chain

        backup_chain(chain_dir.path, tmp_path / "copy")

"""Crash-point sweep: kill the node at every write of the store, through genesis and several blocks.

A forked child builds genesis and seals blocks (one transaction each) with the store's
crash hook armed at write N; it reports each transaction whose block committed before the
kill. The parent then reopens the directory: the history must verify, every reported
transaction must be there, and the node must seal a new block.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ledger.chain.errors import HistoryError
from ledger.chain.node import Node
from ledger.chain.store import CRASH_ENV
from tests.ledger.chain.conftest import MEMBERS, VALIDATOR, allowlist_spec, signed

BLOCKS = 4
SPEC = allowlist_spec()


def _workload(path: Path, report_fd: int) -> None:
    node = Node.create(path, SPEC, VALIDATOR)
    for nonce in range(BLOCKS):
        tx_hash = node.submit_raw(signed(MEMBERS[0], nonce, MEMBERS[1].address, b"", gas=21_000))
        os.write(report_fd, tx_hash)  # the "client" holds a receipt only once this block committed
    node.close()


def _run_child(path: Path, crash_at: int) -> tuple[int, list[bytes]]:
    """Run the workload in a fork; returns (status, tx hashes it saw committed)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        os.environ[CRASH_ENV] = str(crash_at)
        try:
            _workload(path, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 4096):
        chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    blob = b"".join(chunks)
    return status, [blob[i : i + 32] for i in range(0, len(blob), 32)]


def _total_writes(tmp: Path) -> int:
    # With the hook armed at an unreachable write, count every write of a full run.
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.environ[CRASH_ENV] = str(10**9)
        from ledger.chain.store import writes_so_far

        _workload(tmp, os.open(os.devnull, os.O_WRONLY))
        os.write(write_fd, writes_so_far().to_bytes(8, "big"))
        os._exit(0)
    os.close(write_fd)
    count = int.from_bytes(os.read(read_fd, 8), "big")
    os.waitpid(pid, 0)
    return count


def _recover_and_check(path: Path, committed: list[bytes]) -> None:
    try:
        node = Node.open(path, VALIDATOR)
    except HistoryError as exc:
        assert "holds no chain" in str(exc), exc  # killed before genesis committed: start over
        assert not committed
        node = Node.create(path, SPEC, VALIDATOR)
    try:
        # A kill right after a commit leaves one block the client never heard of: fine.
        height = node.head.block_number
        assert len(committed) <= height <= len(committed) + 1
        for tx_hash in committed:
            node.chain.chaindb.get_transaction_index(tx_hash)
        nonce = node.chain.get_vm(node.head).state.get_nonce(bytes.fromhex(MEMBERS[0].address[2:]))
        node.submit_raw(signed(MEMBERS[0], nonce, MEMBERS[1].address, b"", gas=21_000))
        assert node.head.block_number == height + 1
    finally:
        node.close()


def test_every_crash_point_through_genesis_and_blocks_recovers(tmp_path: Path) -> None:
    total = _total_writes(tmp_path / "count")
    assert total > BLOCKS * 5  # the sweep really walks through several multi-write commits
    killed = 0
    for crash_at in range(1, total + 1):
        path = tmp_path / f"crash-{crash_at}"
        status, committed = _run_child(path, crash_at)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"no crash at write {crash_at}"
        killed += 1
        _recover_and_check(path, committed)
    assert killed == total


@pytest.mark.parametrize("crash_at", [0])
def test_uncrashed_run_commits_every_block(tmp_path: Path, crash_at: int) -> None:
    status, committed = _run_child(tmp_path, crash_at)
    assert os.WIFEXITED(status) and len(committed) == BLOCKS
    _recover_and_check(tmp_path, committed)

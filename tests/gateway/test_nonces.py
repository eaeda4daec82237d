"""The nonce store: a used nonce stays used across a restart; pruning forgets only stale ones."""

from __future__ import annotations

from pathlib import Path

from gateway.nonces import NonceStore

CALLER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_used_nonce_is_refused_after_reopening_the_store(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.sqlite3", window_seconds=60)
    assert store.claim(CALLER, b"\x01" * 32, 1000, now=1000)
    store.close()
    reopened = NonceStore(tmp_path / "n.sqlite3", window_seconds=60)
    assert not reopened.claim(CALLER, b"\x01" * 32, 1000, now=1001)
    assert reopened.claim(CALLER, b"\x02" * 32, 1000, now=1001)


def test_same_nonce_of_another_caller_is_its_own(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.sqlite3", window_seconds=60)
    assert store.claim(CALLER, b"\x01" * 32, 1000, now=1000)
    assert store.claim("0x" + "ab" * 20, b"\x01" * 32, 1000, now=1000)


def test_pruning_keeps_nonces_still_inside_twice_the_window(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.sqlite3", window_seconds=60)
    store.claim(CALLER, b"\x01" * 32, 1000, now=1000)
    store.claim(CALLER, b"\x02" * 32, 1100, now=1100)
    store._prune(now=1121)  # 1000 < 1121 - 120: the first request is stale for good
    assert store.claim(CALLER, b"\x01" * 32, 1000, now=1121)
    assert not store.claim(CALLER, b"\x02" * 32, 1100, now=1121)


def test_racing_replays_of_one_nonce_let_exactly_one_through_and_it_is_on_disk(tmp_path: Path) -> None:
    import threading

    store = NonceStore(tmp_path / "nonces.sqlite3", 60)
    results: list[bool] = []
    start = threading.Barrier(8)

    def replay() -> None:
        start.wait()
        results.append(store.claim("0xreplayer", b"\x07" * 32, 100, 100))

    threads = [threading.Thread(target=replay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert sorted(results) == [False] * 7 + [True]
    assert NonceStore(tmp_path / "nonces.sqlite3", 60).claim("0xreplayer", b"\x07" * 32, 100, 100) is False

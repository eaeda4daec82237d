"""`custos chain backup`: a consistent copy of a chain directory, taken while its node runs.

The store is copied with LMDB's own hot copy (`mdb_env_copy2` with compaction) from a
read transaction, so the copy holds exactly one committed block height however busy the
writer is; the other files of the directory (keystore, deployment and consortium files)
are copied as they are. Restoring is using the copy as the chain directory (`custos chain
up COPY`), whose open verifies it like any other store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ledger.chain.errors import HistoryError
from ledger.chain.node import STORE_DIR
from ledger.chain.store import open_env


def backup_chain(directory: Path, target: Path) -> None:
    """Copy the chain in `directory` into the new or empty directory `target`."""
    store = directory / STORE_DIR
    if not (store / "data.mdb").is_file():
        raise HistoryError(f"{directory} holds no chain store")
    if target.exists() and any(target.iterdir()):
        raise HistoryError(f"{target} is not empty: a backup goes into a new directory")
    (target / STORE_DIR).mkdir(parents=True)
    env = open_env(store, readonly=True)
    try:
        env.copy(str(target / STORE_DIR), compact=True)
    finally:
        env.close()
    for item in directory.iterdir():
        if item.name == STORE_DIR:
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name)
        else:
            shutil.copy2(item, target / item.name)

"""A file nobody may write, root included: mode 0444, and the immutable attribute when running as root."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """`path` unwritable inside the block (root ignores mode bits, not `chattr +i`), writable again after."""
    mode = path.stat().st_mode
    path.chmod(0o444)
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield path
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)

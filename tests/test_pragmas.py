"""Every silenced check says why: a `# type: ignore[code]` or `# noqa: CODE` carries its reason on the same line."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("ledger", "compute", "gateway", "custos", "scripts", "tests")
PRAGMA = re.compile(r"(type:\s*ignore(?P<codes>\[[^\]]*\])?|noqa(?P<rules>:\s*[A-Z0-9, ]+)?)(?P<rest>.*)$")


def unexplained(source: str) -> list[str]:
    """`line: comment` for each pragma without an error code or without a reason after it."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = PRAGMA.search(token.string)
        if match is None:
            continue
        coded = match["codes"] if match.group(1).startswith("type") else match["rules"]
        reason = match["rest"].strip(" #-—:")
        if not coded or len(reason) < 4:
            found.append(f"{token.start[0]}: {token.string}")
    return found


def test_every_type_ignore_and_noqa_names_its_code_and_says_why() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (lines := unexplained(path.read_text()))
    }
    assert offenders == {}


def test_the_scan_sees_bare_and_reasonless_pragmas() -> None:
    sample = (
        "a = f(x)  # type: ignore\n"
        "b = f(x)  # type: ignore[arg-type]\n"
        "c = f(x)  # type: ignore[arg-type]  # web3 types it Any\n"
        "import os  # noqa: F401\n"
        "import sys  # noqa: F401 - re-exported for callers\n"
        's = "# type: ignore inside a string is not a pragma"\n'
    )
    assert [line.split(":")[0] for line in unexplained(sample)] == ["1", "2", "4"]

"""Token amounts are scaled between tokens and base units in one place: ledger/units.py.

Anywhere else, `* 10**18`, `/ 10**18`, `1e18` or `10**decimals` is a second copy of the
token's decimals (and `/` is a float). The scan flags, outside ledger/units.py:
- `10 ** k` with k ≥ 18, and `10 ** <expression>` (`10**decimals`, `10**TOKEN_DECIMALS`);
- numeric literals that are whole multiples of 10**18 (`1e18`, `1_000_000_000_000_000_000`).
The chain's native coin is not the token: wei balances for gas (`FUNDING_WEI = 10**24`,
`anvil_setBalance`, `GenesisAccount(balance=...)`) are allowed when the statement says so
by naming wei, ether, funding or a balance of the node's accounts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("ledger", "compute", "gateway", "custos", "scripts", "tests")
OWNER = ROOT / "ledger" / "units.py"
# The spec test of ledger.units writes its expected base units out by hand, independently of the module.
SPEC_TEST = ROOT / "tests" / "ledger" / "test_units.py"
UNIT = 10**18
NATIVE = re.compile(r"(^|_)wei($|_)|ether|funding|setbalance|get_balance|^balance$", re.IGNORECASE)


def _scaling(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = node.left, node.right
        if isinstance(base, ast.Constant) and base.value == 10:
            return not isinstance(exponent, ast.Constant) or (isinstance(exponent.value, int) and exponent.value >= 18)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value >= UNIT and node.value % UNIT == 0
    return False


def _names_native_coin(statement: ast.AST) -> bool:
    for node in ast.walk(statement):
        words = []
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            words.append(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.append(node.value)
        if any(NATIVE.search(word) for word in words):
            return True
    return False


def _own_parts(statement: ast.stmt) -> list[ast.AST]:
    """A statement without its nested statements: a compound's header (`if` test, `for` target and iterable)."""
    parts: list[ast.AST] = []
    for _, value in ast.iter_fields(statement):
        values = value if isinstance(value, list) else [value]
        parts.extend(v for v in values if isinstance(v, ast.AST) and not isinstance(v, ast.stmt | ast.excepthandler))
    return parts


def token_scaling_sites(path: Path) -> list[str]:
    """`file:line: expression` for every token-unit scaling outside a native-coin statement."""
    tree = ast.parse(path.read_text(), filename=str(path))
    sites = []
    for statement in ast.walk(tree):
        if not isinstance(statement, ast.stmt):
            continue
        parts = _own_parts(statement)
        if any(_names_native_coin(part) for part in parts):
            continue
        sites.extend(
            f"{path.name}:{node.lineno}: {ast.unparse(node)}"
            for part in parts
            for node in ast.walk(part)
            if _scaling(node)
        )
    return sites


def test_token_units_are_scaled_only_in_ledger_protocol() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sites
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path not in (OWNER, SPEC_TEST, Path(__file__).resolve()) and (sites := token_scaling_sites(path))
    }
    assert offenders == {}, "scale token amounts with ledger.units.parse_amount / format_amount"


def test_the_scan_finds_scaling_and_spares_wei(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "price = int(round(12.5 * 10**18))\n"
        "shown = units / 1e18\n"
        "exact = 10 ** decimals\n"
        "FUNDING_WEI = 10**24\n"
        "weights = range(10**18)\n"
        "if ok:\n    budget = 5 * 10**18\n"
        'make_request("anvil_setBalance", [a, hex(10**21)])\n'
    )
    assert token_scaling_sites(sample) == [
        "sample.py:1: 10 ** 18",
        "sample.py:2: 1e+18",
        "sample.py:3: 10 ** decimals",
        "sample.py:5: 10 ** 18",
        "sample.py:7: 10 ** 18",
    ]
    assert token_scaling_sites(OWNER) != []  # the owner is scanned like any other file, then exempted by name

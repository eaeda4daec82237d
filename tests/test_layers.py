"""The layout is the architecture: custos → gateway → compute → ledger, never upward.

Every import counts, wherever it stands: at module level, under `if TYPE_CHECKING`, inside a
function (a lazy import is still a dependency), and through `importlib.import_module` or
`__import__` with a literal name. Only `ledger/` and the `custos/` CLI may use the chain
libraries (web3, eth-account, eth-abi, py-evm's `eth`); the layers above get signing and
encoding from ledger's modules (`ledger.signing`, `ledger.protocol`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each layer may import only the layers listed for it.
ALLOWED = {
    "ledger": set(),
    "compute": {"ledger"},
    "gateway": {"compute", "ledger"},
    "custos": {"gateway", "compute", "ledger"},
}
CHAIN_LIBRARIES = {"web3", "eth_account", "eth_abi", "eth"}
MAY_USE_CHAIN_LIBRARIES = {"ledger", "custos"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, lazy and dynamic ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                found.append((node.lineno, name.value))
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def offenders(layer: str, forbidden: set[str]) -> dict[str, list[str]]:
    """`file: ["line: module", ...]` for imports of `forbidden` top-level packages under `layer/`."""
    found = {}
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = [f"{line}: {module}" for line, module in imported_modules(path) if module.split(".")[0] in forbidden]
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_downward(layer: str) -> None:
    assert offenders(layer, set(ALLOWED) - ALLOWED[layer] - {layer}) == {}


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - MAY_USE_CHAIN_LIBRARIES))
def test_only_ledger_and_the_cli_talk_to_chain_libraries(layer: str) -> None:
    assert offenders(layer, CHAIN_LIBRARIES) == {}


def test_the_scan_sees_lazy_dynamic_and_type_checking_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from gateway.app import App\n"
        "def later():\n"
        "    from custos.cli import app\n"
        "    import eth_account.messages\n"
        "    importlib.import_module('web3')\n"
        "    return __import__('gateway.deps')\n"
    )
    assert [m for _, m in imported_modules(sample)] == [
        "importlib",
        "typing",
        "gateway.app",
        "custos.cli",
        "eth_account.messages",
        "web3",
        "gateway.deps",
    ]

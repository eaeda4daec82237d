"""The layout is the architecture: custos → gateway → compute → ledger, never upward.

Every import counts, wherever it stands: at module level, under `if TYPE_CHECKING`, inside a
function (a lazy import is still a dependency), and through `importlib.import_module` or
`__import__` with a literal name. Only `ledger/` and the `custos/` CLI may use the chain
libraries (web3, eth-account, eth-abi, py-evm's `eth`); the layers above get signing and
encoding from ledger's modules (`ledger.signing`, `ledger.protocol`, `ledger.units`, `ledger.deployment`).
"""

from __future__ import annotations

import ast
import tomllib
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


def test_no_test_module_imports_another_test_module() -> None:
    # Shared test helpers live in conftest.py or a helper module (tests/waiting.py, tests/backends.py, ...).
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (found := _test_imports(path))
    }
    assert offenders == {}


def _test_imports(path: Path) -> list[str]:
    found = [module for _, module in imported_modules(path) if module.split(".")[-1].startswith("test_")]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0 and (node.module or "").startswith("test_"):
            found.append("." * node.level + str(node.module))
    return found


def test_modules_used_across_layers_are_type_checked_strictly() -> None:
    # pyproject.toml relaxes mypy for implementation modules; what another layer imports must be in the strict list.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    strict = {m for o in config if o.get("disallow_any_generics") is True for m in o["module"]}
    relaxed = [m for o in config if o.get("disallow_any_generics") is False for m in o["module"]]

    def is_strict(module: str) -> bool:
        if module in strict or any(p.endswith(".*") and module.startswith(p[:-1]) for p in strict):
            return True
        return not any(module == p or (p.endswith(".*") and module.startswith(p[:-1])) for p in relaxed)

    used = {
        module
        for layer in ALLOWED
        for path in (ROOT / layer).rglob("*.py")
        for _, module in imported_modules(path)
        if module.split(".")[0] in ALLOWED and module.split(".")[0] != layer
    }
    chain_internals = {m for m in used if m.startswith("ledger.chain")}  # relaxed for py-evm, see pyproject.toml
    assert sorted(m for m in used - chain_internals if not is_strict(m)) == []

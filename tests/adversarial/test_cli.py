"""The `custos` command line given what is not a chain: one clear error line and a non-zero exit,
never a traceback, and nothing written where the user pointed by mistake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from ledger.chain.setup import validator_key
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV, Keystore
from tests.cli_runs import custos_here


@pytest.mark.parametrize(("command", "says"), [("verify", "holds no chain"), ("up", "Not a directory")])
def test_a_chain_command_pointed_at_a_data_file_is_one_error_line(tmp_path: Path, command: str, says: str) -> None:
    data = tmp_path / "bank.csv"
    data.write_text("id,y\n1,0\n")
    done = custos_here("chain", command, str(data), *(("--port", "0") if command == "up" else ()))
    assert done.exit_code == 1, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.output
    assert data.read_text() == "id,y\n1,0\n"


def test_verifying_a_folder_that_holds_no_chain_refuses_and_creates_nothing_there(tmp_path: Path) -> None:
    typo = tmp_path / "chian"
    done = custos_here("chain", "verify", str(typo))
    assert done.exit_code == 1 and f"{typo} holds no chain" in done.output, done.output
    assert not typo.exists(), "verify created an empty chain store where the user mistyped"
    backup = custos_here("chain", "backup", str(typo), str(tmp_path / "copy"))
    assert backup.exit_code == 1 and "holds no chain" in backup.output, backup.output
    assert not (tmp_path / "copy").exists()


def test_auditing_a_folder_that_holds_no_chain_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "deployment.json").write_text("{}")
    done = custos_here("audit", "job", "0", "--chain", str(tmp_path))
    assert done.exit_code != 0, done.output
    assert done.output.strip().splitlines()[-1].startswith("error: "), done.output
    assert not (tmp_path / "chain.lmdb").exists()


@pytest.fixture(scope="module")
def dev_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`custos chain init`'s development consortium (keystore, deployment.json), its node never started."""
    folder = tmp_path_factory.mktemp("dev-chain") / "chain"
    done = custos_here("chain", "init", str(folder))
    assert done.exit_code == 0, done.output
    return folder


@pytest.mark.parametrize(
    ("mistake", "says"),
    [
        (("--name", "bnak"), "no key 'bnak' in the keystore"),
        (("--name", "bank", "--deployment", "/no/such/deployment.json"), "no deployment file at /no/such"),
    ],
    ids=["typo-in-the-key-name", "missing-deployment"],
)
def test_a_workspace_made_with_a_typo_is_refused_at_init_not_at_the_first_job(
    dev_chain: Path, tmp_path: Path, mistake: tuple[str, ...], says: str
) -> None:
    done = custos_here("runner", "init", "-w", str(tmp_path / "ws"), "--chain", str(dev_chain), *mistake)
    assert done.exit_code == 1, done.output
    assert done.output.strip().splitlines() == [done.output.strip()] and says in done.output, done.output
    assert not (tmp_path / "ws").exists()


@pytest.fixture(scope="module")
def offline_workspace(dev_chain: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank's workspace pointing at a node that is not there (a closed loopback port)."""
    folder = tmp_path_factory.mktemp("offline") / "ws"
    done = custos_here("runner", "init", "-w", str(folder), "--name", "bank", "--chain", str(dev_chain), "--rpc", DOWN)
    assert done.exit_code == 0, done.output
    return folder


DOWN = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "args",
    [
        ("job", "show", "0"),
        ("job", "consent", "0"),
        ("payout", "balance"),
        ("payout", "withdraw"),
        ("source", "budget", "0"),
        ("job", "open", "psi", "--sources", "0,1", "--compute", "0x" + "11" * 20, "--budget", "1"),
    ],
    ids=lambda args: "-".join(a for a in args[:2]),
)
def test_a_member_command_with_the_chain_down_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, offline_workspace: Path, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    done = custos_here(*args, "-w", str(offline_workspace))
    assert done.exit_code == 1, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: could not reach the node at {DOWN}"), done.output


@pytest.mark.parametrize(
    ("rows", "extra", "says"),
    [
        ("id,y\n", (), "has a header but no rows"),
        ("id,y\n1,0\n2,1\n", ("--label-column", "label"), "has no label column 'label' (columns: id, y)"),
    ],
    ids=["header-only", "label-column-typo"],
)
def test_a_source_nobody_could_use_is_refused_before_it_goes_on_chain(
    monkeypatch: pytest.MonkeyPatch,
    offline_workspace: Path,
    tmp_path: Path,
    rows: str,
    extra: tuple[str, ...],
    says: str,
) -> None:
    """The workspace's node is down: the refusal comes from the file check, before any transaction."""
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    data = tmp_path / "data.csv"
    data.write_text(rows)
    done = custos_here("source", "register", str(data), "-w", str(offline_workspace), *extra)
    assert done.exit_code == 1, done.output
    assert done.output.strip() == f"error: {data} {says}", done.output


@pytest.fixture(scope="module")
def served_workspace(dev_chain: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The dev chain's node serving on loopback, and the bank's workspace pointing at it."""
    node = Node.open(dev_chain, validator_key(dev_chain, DEV_PASSWORD))
    server = ChainServer(node, port=0)
    server.start()
    folder = tmp_path_factory.mktemp("served") / "ws"
    try:
        made = custos_here("runner", "init", "-w", str(folder), "--name", "bank", "--chain", str(dev_chain))
        assert made.exit_code == 0, made.output
        workspace = json.loads((folder / "workspace.json").read_text())
        (folder / "workspace.json").write_text(json.dumps({**workspace, "rpc": server.url}))
        yield folder
    finally:
        server.stop()
        node.close()


def test_the_budget_of_a_source_never_registered_is_an_error_not_zeros(
    monkeypatch: pytest.MonkeyPatch, served_workspace: Path
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    done = custos_here("source", "budget", "999", "-w", str(served_workspace))
    assert done.exit_code == 1, done.output
    assert done.output.strip() == "error: no data source 999 on this consortium's chain", done.output


@pytest.mark.parametrize("compute", ["nothex", "0x1234", "0x" + "g" * 40])
def test_a_job_naming_a_compute_party_that_is_not_an_address_is_refused_before_any_transaction(
    monkeypatch: pytest.MonkeyPatch, served_workspace: Path, compute: str
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    args = (
        "job",
        "open",
        "psi",
        "--sources",
        "0,1",
        "--compute",
        compute,
        "--budget",
        "1",
        "-w",
        str(served_workspace),
    )
    sent_before = _transactions_of_bank(served_workspace)
    done = custos_here(*args)
    assert done.exit_code == 1, done.output
    assert done.output.strip() == f"error: compute party {compute!r} is not an address (0x and 40 hex digits)"
    assert _transactions_of_bank(served_workspace) == sent_before, "an approval went out before the refusal"


def _transactions_of_bank(workspace: Path) -> int:
    """The bank's transaction count on the workspace's node (its nonce)."""
    settings = json.loads((workspace / "workspace.json").read_text())
    bank = Keystore(settings["keystore"]).address("bank")
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount", "params": [bank, "latest"]}
    return int(httpx.post(settings["rpc"], json=call, timeout=30).json()["result"], 16)


def test_running_a_job_against_a_node_that_never_answers_gives_up_after_node_wait(
    monkeypatch: pytest.MonkeyPatch, offline_workspace: Path
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    started = time.monotonic()
    done = custos_here("job", "run", "0", "-w", str(offline_workspace), "--json", "--node-wait", "1")
    took = time.monotonic() - started
    assert done.exit_code == 1, done.output
    last = done.output.strip().splitlines()[-1]
    assert last.startswith(f"error: could not reach the node at {DOWN}") and "after 1 s" in last, done.output
    assert "Traceback" not in done.output
    assert took < 30, f"gave up after {took:.1f} s, not about 1 s"  # generous: a loaded machine

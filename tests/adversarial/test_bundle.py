"""`custos audit verify-bundle` on a hostile bundle file: a cheating member (or a damaged download)
hands the auditor a bundle whose fields have the wrong types, impossible numbers or garbage in
place of proofs. Every such file is refused (exit 2, one line) or fails a named check (exit 3);
none crashes the verifier with a traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runs import custos_here
from tests.ledger.audit.anvil import nowhere_url
from tests.ledger.audit.sealed import TRANSCRIPT_LEAVES, UTILITY_TABLE, run_job

Bundle = dict[str, Any]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bundle]:
    """A sealed embedded chain with one finalised job, and its evidence bundle as `custos audit export` writes it."""
    folder = tmp_path_factory.mktemp("hostile-bundle")
    job = run_job(folder / "chain")
    (folder / "table.json").write_text(json.dumps(UTILITY_TABLE))
    (folder / "leaves.json").write_text(json.dumps(TRANSCRIPT_LEAVES))
    held = ("--utility-table", str(folder / "table.json"), "--transcript-leaves", str(folder / "leaves.json"))
    out = folder / "job0.json"
    done = custos_here(
        "audit", "export", "job", "0", "--out", str(out), "--chain", str(job.chain), "--rpc", nowhere_url(), *held
    )
    assert done.exit_code == 0, done.output
    return job.chain, dict(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def honest(exported: tuple[Path, Bundle]) -> Bundle:
    return exported[1]


def _set(*path: str | int, value: object) -> Callable[[Bundle], None]:
    def tamper(bundle: Bundle) -> None:
        holder: Any = bundle
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = value

    return tamper


# (what the cheater changed, exit status, what the one refusal line or the failed check says)
HOSTILE: list[tuple[str, Callable[[Bundle], None], int, str]] = [
    ("job id is text", _set("job", value="zz"), 2, "'job' is 'zz', not an integer"),
    ("job id is negative", _set("job", value=-1), 2, "'job' is -1, not an integer"),
    ("job id past uint256", _set("job", value=2**256), 2, "not an integer from 0 to 2**256 - 1"),
    ("job id is a float", _set("job", value=0.5), 2, "'job' is 0.5"),
    ("chain id is negative", _set("chainId", value=-1), 2, "'chainId' is -1"),
    ("chain id is null", _set("chainId", value=None), 2, "'chainId' is None"),
    ("contracts is null", _set("contracts", value=None), 3, "bundle format"),
    ("a contract address is not hex", _set("contracts", "Consortium", value="zz"), 3, "bundle format"),
    ("a contract address is a float", _set("contracts", "Consortium", value=1.5), 3, "bundle format"),
    ("an abi is text", _set("abi", "Consortium", value="zz"), 3, "bundle format"),
    ("an abi entry's inputs are text", _set("abi", "Consortium", 0, "inputs", value="zz"), 3, "bundle format"),
    ("an abi input type is null", _set("abi", "Consortium", 0, "inputs", 0, "type", value=None), 3, "bundle format"),
    ("receipts is null", _set("receipts", value=None), 3, "bundle format"),
    ("payout is text", _set("payout", value="zz"), 3, "bundle format"),
    ("a header is garbage", _set("headers", 0, "rlp", value="0x" + "00" * 5000), 3, "bundle format"),
    ("the headers are a number", _set("headers", value=2**300), 3, "bundle format"),
    ("the events are a dict", _set("events", value={}), 3, "complete"),
]


@pytest.mark.parametrize(("tamper", "status", "says"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_cheating_member_s_malformed_bundle_is_refused_or_fails_never_a_traceback(
    honest: Bundle, tmp_path: Path, tamper: Callable[[Bundle], None], status: int, says: str
) -> None:
    bundle = copy.deepcopy(honest)
    tamper(bundle)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    done = custos_here("audit", "verify-bundle", str(path))  # an exception escaping fails the test
    assert done.exit_code == status, done.output
    if status == 2:
        lines = done.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.output
    else:
        failed = [line for line in done.output.splitlines() if line.strip().startswith("✗")]
        assert any(f": {says}:" in line for line in failed), done.output


def test_the_honest_bundle_still_verifies(honest: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(honest))
    done = custos_here("audit", "verify-bundle", str(path))
    assert done.exit_code == 0, done.output
    assert "✗" not in done.output


@pytest.mark.parametrize(
    ("out", "says"),
    [("missing/bundle.json", "its folder does not exist"), (".", "a folder")],
    ids=["no-folder", "folder"],
)
def test_exporting_a_bundle_where_no_file_can_be_written_is_one_error_line(
    exported: tuple[Path, Bundle], tmp_path: Path, out: str, says: str
) -> None:
    chain = exported[0]
    target = tmp_path / out
    done = custos_here(
        "audit", "export", "job", "0", "--out", str(target), "--chain", str(chain), "--rpc", nowhere_url()
    )
    assert done.exit_code == 2, done.output
    assert done.output.strip() == f"error: cannot write {target}: {says}", done.output

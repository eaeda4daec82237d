"""A job's result bundle: what each participant keeps of a run, and anyone holding it can check.

The bundle carries hashes and numbers only: the result hash, the public result (if the job
has one: a model's metrics and commitments, aggregate statistics; never rows, ids or
protocol messages), the transcript's leaf list (one message hash per protocol message), the
utility table with the rule's inputs, and the weights, utility table hash and contribution
hash committed on chain. `verify_bundle` recomputes every hash and the weights from what the
bundle holds, so an auditor (or the explorer) can check a bundle against the chain without
trusting whoever computed it.

    {"job_id", "protocol", "result_hash", "result", "result_hashed", "transcript_root",
     "transcript_leaves": ["0x<message hash>", ...], "transcript_entries",
     "weights", "utility_table_hash", "contribution_hash", "contribution": {...} | null, "metadata"}

`transcript_leaves` and `contribution.utility_table` are what `custos audit export
--transcript-leaves/--utility-table` take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compute.contribution.rule import contribution_problems
from compute.result import hash_result
from compute.session import PartyOutcome
from ledger.merkle import MerkleTree, leaf_hash
from ledger.protocol import contribution_hash

ZERO32 = b"\x00" * 32


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes32(value: object) -> bytes:
    data = bytes.fromhex(str(value).removeprefix("0x"))
    if len(data) != 32:
        raise ValueError(f"{value!r} is not 32 bytes")
    return data


def result_bundle(
    job_id: int,
    protocol: str,
    outcome: PartyOutcome,
    sources: int,
    contribution: Mapping[str, Any] | None,
    result: Any = None,
    result_hashed: bool = False,
) -> dict[str, Any]:
    """The bundle of one party's finished run.

    `contribution` is the run's contribution section (`ContributionReport.to_json`), or None
    for a job that splits the pool equally over its `sources` (weights all 1, table hash zero).
    `result` is the run's public result; `result_hashed` says the result hash is its hash.
    """
    if contribution is None:
        weights, table_hash = [1] * sources, ZERO32
    else:
        weights = [int(w) for w in contribution["weights"]]
        table_hash = _bytes32(contribution["utility_table_hash"])
    entries = outcome.transcript.entries
    return {
        "job_id": job_id,
        "protocol": protocol,
        "result_hash": _hex(outcome.result_hash) if outcome.result_hash is not None else None,
        "result": result,
        "result_hashed": result_hashed,
        "transcript_root": _hex(outcome.transcript.root),
        "transcript_leaves": [_hex(e.message_hash) for e in entries],
        "transcript_entries": len(entries),
        "weights": weights,
        "utility_table_hash": _hex(table_hash),
        "contribution_hash": _hex(contribution_hash(weights, table_hash)),
        "contribution": dict(contribution) if contribution is not None else None,
        "metadata": {
            k: v
            for k, v in outcome.metadata.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)  # counts and timings, nothing else
        },
    }


def transcript_root(leaves: Sequence[str]) -> bytes:
    """The transcript root of a leaf list (message hashes in transcript order)."""
    return MerkleTree.from_leaves([leaf_hash(_bytes32(m)) for m in leaves]).root


def verify_bundle(bundle: Mapping[str, Any]) -> list[str]:
    """What does not add up in a result bundle; [] when every hash and the weights follow from its contents.

    Pure: no chain, no files. Compare the bundle's result_hash, transcript_root and
    contribution_hash with the job's on chain separately (they are what the chain committed).
    """
    try:
        root = _bytes32(bundle["transcript_root"])
        leaves = list(bundle["transcript_leaves"])
        weights = [int(w) for w in bundle["weights"]]
        table_hash = _bytes32(bundle["utility_table_hash"])
        claimed = _bytes32(bundle["contribution_hash"])
        recomputed_root = transcript_root(leaves)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"the bundle does not parse: {exc}"]
    problems = []
    if recomputed_root != root:
        problems.append("the transcript leaves do not give transcript_root")
    if bundle.get("transcript_entries", len(leaves)) != len(leaves):
        problems.append(f"transcript_entries says {bundle['transcript_entries']}, the leaf list has {len(leaves)}")
    result = bundle.get("result")
    if bundle.get("result_hashed") and (
        bundle.get("result_hash") is None or _hex(hash_result(result)) != bundle["result_hash"]
    ):
        problems.append("result_hash is not the hash of the result")
    section = bundle.get("contribution")
    if section is None:
        if any(w != 1 for w in weights) or table_hash != ZERO32:
            problems.append("without a utility table the weights must all be 1 and the table hash zero")
    else:
        if not isinstance(section, Mapping):
            return [*problems, "the contribution section is not an object"]
        problems += contribution_problems(section)
        if list(section.get("weights", [])) != weights or section.get("utility_table_hash") != _hex(table_hash):
            problems.append("the weights or table hash differ from the contribution section's")
        if isinstance(result, Mapping) and "contribution" in result and result["contribution"] != section:
            problems.append("the result's contribution differs from the bundle's")
    if claimed != contribution_hash(weights, table_hash):
        problems.append("contribution_hash is not the hash of the weights and the utility table hash")
    return problems

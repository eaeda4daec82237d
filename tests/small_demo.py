"""The small, fast demo consortium the end-to-end tests run (300 businesses, 512-bit keys, one iteration),
and the horizontal sources its FedAvg jobs train on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from custos.demo import Demo, DemoConfig
from ledger.member import MemberLedger


def small_demo_config(folder: Path, **overrides: Any) -> DemoConfig:
    """A `DemoConfig` sized for tests, in `folder`; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "businesses": 300,
        "key_bits": 512,
        "epochs": 1,
        "budget": 100,
        "timeout": 150,
        "protocol_timeout": 8,
    }
    return DemoConfig(folder=folder, **(fields | overrides))


def horizontal_sources(demo: Demo, members: Mapping[str, MemberLedger], kinds: int, rows: int = 300) -> list[int]:
    """One schema split by rows: the bank, the invoice firm and the card network each register `rows` rows
    (`horizontal.csv`, label `y`) allowing `kinds`; the compute node keeps the rest as its `validation.csv`."""
    from compute.jobs.commitment import commit_csv, new_secret
    from compute.jobs.synthetic_credit import generate
    from compute.jobs.workspace import SourceFile, Workspace
    from ledger.bindings import SourceSpec
    from ledger.units import parse_amount

    lines = generate(4 * rows, seed=11).bank.to_csv().splitlines()
    header, body = lines[0], lines[1:]
    validation = demo.folder / "parties" / "compute-node" / "validation.csv"
    validation.write_text("\n".join([header, *body[3 * rows :]]) + "\n")
    source_ids = []
    for i, name in enumerate(("bank", "invoice-firm", "card-network")):
        workspace = Workspace.load(demo.folder / "parties" / name)
        path = workspace.folder / "horizontal.csv"
        path.write_text("\n".join([header, *body[i * rows : (i + 1) * rows]]) + "\n")
        secret = new_secret()
        c = commit_csv(path, "id", secret)
        registered = members[name].registry.register_source(
            SourceSpec(c.schema_hash, c.root, c.row_count, "file://horizontal.csv", parse_amount(1), kinds)
        )
        workspace.add_source(SourceFile(registered.source_id, path, "id", secret, "y"))
        source_ids.append(registered.source_id)
    return source_ids

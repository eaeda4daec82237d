"""The parameter document of each runnable kind, built from what a person chooses.

The runner reads these documents back through `compute.jobs.kinds` (each kind's `plan`);
the document is stored by its keccak256, which the job records on chain as its parameter hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from compute.errors import InvalidInput
from compute.fl.fedavg.params import FedAvgParams
from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG_PROTOCOL
from compute.fl.hetero_lr.schedule import HeteroLRParams
from compute.jobs.vertical import VerticalParams
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from compute.stats.protocol import PROTOCOL as STATS_PROTOCOL

Document = dict[str, Any]


def psi_document(sources: Sequence[int]) -> Document:
    """PSI between two sources: the first source's owner learns the intersection."""
    if len(sources) != 2:
        raise InvalidInput(f"PSI runs on exactly two sources (the receiver's first), not {list(sources)}")
    return {"protocol": PSI_PROTOCOL, "sources": list(sources)}


def stats_document(sources: Sequence[int], column: str, columns: Mapping[int, str] | None = None) -> Document:
    """Secure statistics of `column` (or, per source, `columns[source]`) over the sources; the first learns them."""
    columns = dict(columns or {})
    if not column and set(columns) != set(sources):
        raise InvalidInput("name the column to sum: one for every source, or one per source")
    unknown = set(columns) - set(sources)
    if unknown:
        raise InvalidInput(f"columns given for sources {sorted(unknown)} that the job does not use")
    return {
        "protocol": STATS_PROTOCOL,
        "sources": list(sources),
        "column": column,
        "columns": {str(source): name for source, name in columns.items()},
    }


def fedavg_document(
    sources: Sequence[int], label_column: str, validation: str, params: FedAvgParams | None = None
) -> Document:
    """Horizontal FedAvg: the sources' owners train; the aggregator scores on its own `validation` file."""
    params = params or FedAvgParams()
    return {
        "protocol": FEDAVG_PROTOCOL,
        "sources": list(sources),
        "label_column": label_column,
        "validation": validation,
        "fedavg": asdict(params),
    }


def hetero_lr_document(sources: Sequence[int], label_column: str, params: HeteroLRParams | None = None) -> Document:
    """PSI-aligned hetero-LR: the first source holds the labels, the others features."""
    if len(sources) < 2:
        raise InvalidInput("hetero-LR needs the label holder's source and at least one more")
    lr = params or HeteroLRParams()
    return VerticalParams(sources[0], tuple(sources[1:]), label_column=label_column, lr=lr).to_json()

"""The job-kind registry: on-chain kind ↔ protocol ↔ roster and weight rule ↔ the name a person types.

Built on the one enum (`ledger.protocol.JobKind`) and the runnable kinds of
`compute.jobs.kinds.KINDS`; there is no other kind table. The CLI names a kind by its
ledger label without the `secure-` prefix (`psi`, `stats`, `fedavg`, `hetero-lr`); the
ledger's own spellings (`secure-stats`, `HETERO_LR`, `4`) are accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass

from compute.errors import InvalidInput
from compute.jobs.kinds import KINDS, JobKind
from ledger.errors import ProtocolValueError
from ledger.protocol import JobKind as ChainKind


@dataclass(frozen=True)
class KindEntry:
    """One runnable kind: its CLI name, on-chain kind, protocol, and the runnable (roster via `plan`, weights)."""

    name: str
    chain_kind: ChainKind
    protocol: str
    runnable: JobKind


def _short(kind: ChainKind) -> str:
    return kind.label.removeprefix("secure-")


_ENTRIES = {
    kind.chain_kind: KindEntry(_short(kind.chain_kind), kind.chain_kind, kind.protocol, kind) for kind in KINDS.values()
}


def runnable_names() -> tuple[str, ...]:
    """The CLI names of the kinds a runner can run, in on-chain order."""
    return tuple(_ENTRIES[kind].name for kind in sorted(_ENTRIES))


def kind_for(chain_kind: int) -> KindEntry:
    """The runnable kind recorded on chain as `chain_kind`; InvalidInput for a kind no runner runs."""
    known = chain_kind in ChainKind._value2member_map_
    entry = _ENTRIES.get(ChainKind(chain_kind)) if known else None
    if entry is None:
        raise InvalidInput(f"no runner runs job kind {chain_kind} (runnable: {', '.join(runnable_names())})")
    return entry


def kind_named(name: str) -> KindEntry:
    """The runnable kind a person named (`stats`, `secure-stats`, `HETERO_LR`, `4`); InvalidInput listing the names."""
    by_name = {entry.name: entry for entry in _ENTRIES.values()}
    if name.strip().lower() in by_name:
        return by_name[name.strip().lower()]
    try:
        return kind_for(ChainKind.parse(name))
    except (ProtocolValueError, InvalidInput):
        raise InvalidInput(f"unknown job kind {name!r} (runnable: {', '.join(runnable_names())})") from None

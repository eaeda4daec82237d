"""Command-line values with a protocol meaning: amounts, ε and δ (ledger.units), job kinds (ledger.protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ledger.protocol import JobKind


def amount(text: str) -> int:
    """A token amount as a person types it (`12.5`), in base units, exactly; a usage error otherwise."""
    from ledger.errors import ProtocolValueError
    from ledger.units import parse_amount

    try:
        return parse_amount(text)
    except ProtocolValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def epsilon(text: str) -> int:
    """A privacy budget ε as a person types it (`0.5`), in micro-ε, exactly; a usage error otherwise."""
    from ledger.errors import ProtocolValueError
    from ledger.units import parse_epsilon

    try:
        return parse_epsilon(text)
    except ProtocolValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def positive_epsilon(text: str) -> int:
    """An ε a DP job spends (`0.5`), in micro-ε: more than zero; a usage error otherwise."""
    units = epsilon(text)
    if units == 0:
        raise typer.BadParameter("ε must be more than 0 (a job that spends nothing adds no noise)")
    return units


def delta(text: str) -> int:
    """A δ as a person types it (`1e-6`), in atto-δ, exactly; a usage error otherwise."""
    from ledger.errors import ProtocolValueError
    from ledger.units import parse_delta

    try:
        return parse_delta(text)
    except ProtocolValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def job_kind(text: str) -> JobKind:
    """One job kind by name (`hetero-lr`, `HETERO_LR`); a usage error naming the known kinds otherwise."""
    from ledger.errors import ProtocolValueError
    from ledger.protocol import JobKind

    try:
        return JobKind.parse(text)
    except ProtocolValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def kinds_mask(text: str) -> int:
    """The allowedKinds bitmask of a comma-separated list of kind names (at least one)."""
    from ledger.protocol import kinds_mask as mask_of

    kinds = [job_kind(name) for name in text.split(",") if name.strip()]
    if not kinds:
        raise typer.BadParameter("name at least one job kind")
    return mask_of(kinds)

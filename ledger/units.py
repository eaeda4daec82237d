"""Exact fixed-point units shared by the contracts, the ledger, compute, the gateway and the CLI.

docs/protocol.md is their specification; everything else imports them from here:

- the privacy budget's fixed-point units (micro-ε, atto-δ) and their exact conversions
  (`parse_epsilon`, `format_epsilon`, `parse_delta`, `format_delta`);
- the settlement token's decimals, and the one exact conversion between a decimal amount
  a person types or reads (`"12.5"`) and the integer base units on chain
  (`parse_amount`, `format_amount`). Amounts never pass through `float`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ledger.errors import ProtocolValueError

# -- privacy budget units ----------------------------------------------------------------

#: ε on chain is an integer of micro-ε; δ an integer of atto-δ (PrivacyBudget.EPSILON_UNIT, DELTA_UNIT).
EPSILON_DECIMALS = 6
DELTA_DECIMALS = 18
EPSILON_UNIT = 10**EPSILON_DECIMALS  # micro-ε per ε
_UINT64_MAX = 2**64 - 1


def _parse_fixed(value: str | int | Decimal, decimals: int, what: str, maximum: int) -> int:
    """`value` as an exact integer count of 10^-decimals units, at most `maximum`."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ProtocolValueError(f"{what} is a decimal string, an int or a Decimal, not {type(value).__name__}")
    text = str(value).strip()
    try:
        # Decimal also reads "1_0" as 10 and non-ASCII digits: a typo must not become a budget.
        if "_" in text or not text.isascii():
            raise InvalidOperation
        number = Decimal(text) if len(text) <= 80 else Decimal("NaN")
    except InvalidOperation:
        raise ProtocolValueError(f"{what} {text[:40]!r} is not a number like 0.5 or 1e-6") from None
    if not number.is_finite():
        raise ProtocolValueError(f"{what} {text[:40]!r} is not a finite number")
    if number < 0:
        raise ProtocolValueError(f"{what} {text[:40]} is negative")
    if number.adjusted() > 30:
        raise ProtocolValueError(f"{what} {text[:40]} is too large")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ProtocolValueError(f"{what} {text[:40]} has more than the {decimals} decimals the chain records")
    units = int(scaled)
    if units > maximum:
        raise ProtocolValueError(f"{what} {text[:40]} is above the largest the chain records")
    return units


def _format_fixed(units: int, decimals: int) -> str:
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"units are an int, not {type(units).__name__}")
    return format(Decimal(units).scaleb(-decimals).normalize(), "f")


def parse_epsilon(value: str | int | Decimal) -> int:
    """ε in micro-ε, exactly: `parse_epsilon("0.5") == 500_000`; refuses more than 6 decimals, negatives, floats."""
    return _parse_fixed(value, EPSILON_DECIMALS, "epsilon", _UINT64_MAX)


def format_epsilon(units: int) -> str:
    """Micro-ε as an exact decimal ε: `format_epsilon(500_000) == "0.5"`."""
    return _format_fixed(units, EPSILON_DECIMALS)


def parse_delta(value: str | int | Decimal) -> int:
    """δ in atto-δ, exactly: `parse_delta("1e-6") == 10**12`; refuses more than 18 decimals and δ above 1."""
    return _parse_fixed(value, DELTA_DECIMALS, "delta", 10**DELTA_DECIMALS)


def format_delta(units: int) -> str:
    """Atto-δ as a decimal δ in scientific notation when small: `format_delta(10**12) == "1e-6"`."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"units are an int, not {type(units).__name__}")
    number = Decimal(units).scaleb(-DELTA_DECIMALS).normalize()
    if number == 0 or number >= Decimal("0.001"):
        return format(number, "f")
    return format(number, "e").replace("e-0", "e-").replace("E", "e")


# -- token amounts -----------------------------------------------------------------------

TOKEN_SYMBOL = "CST"
TOKEN_DECIMALS = 18
_UNIT = 10**TOKEN_DECIMALS
_UINT256_MAX = 2**256 - 1
_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?")


def parse_amount(amount: str | int | Decimal) -> int:
    """An amount of tokens in base units, exactly: `parse_amount("12.5") == 12_500_000_000_000_000_000`.

    Accepts a plain decimal string (`"12"`, `"12.5"`, `"0.000000000000000001"`), an int
    (whole tokens) or a finite `Decimal`. Refuses, with a `ProtocolValueError` naming the
    reason: negatives, more than `TOKEN_DECIMALS` decimals, exponents, NaN and infinities,
    anything that is not a number, floats (never exact) and amounts beyond a uint256.
    """
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        raise ProtocolValueError(f"an amount is a decimal string, an int or a Decimal, not {type(amount).__name__}")
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ProtocolValueError(f"amount {amount} is not a finite number")
        amount = format(amount, "f")
    text = str(amount).strip()
    match = _AMOUNT.fullmatch(text)
    if text.startswith("-"):
        raise ProtocolValueError(f"amount {text[:40]} is negative")
    if match is None or not (match["whole"] or match["fraction"]):
        raise ProtocolValueError(f"amount {text[:40]!r} is not a plain decimal number like 12 or 12.5")
    if len(match["whole"]) > 78:  # also keeps int() below far from Python's digit limit
        raise ProtocolValueError(f"amount {text[:20]}... does not fit a uint256 of base units")
    fraction = match["fraction"] or ""
    if len(fraction.rstrip("0")) > TOKEN_DECIMALS:
        raise ProtocolValueError(f"amount {text[:40]} has more than the {TOKEN_DECIMALS} decimals {TOKEN_SYMBOL} has")
    fraction = fraction.rstrip("0")
    units: int = int(match["whole"] or "0") * _UNIT + int(fraction.ljust(TOKEN_DECIMALS, "0") or "0")
    if units > _UINT256_MAX:
        raise ProtocolValueError(f"amount {text} does not fit a uint256 of base units")
    return units


def format_amount(units: int, *, symbol: bool = False, grouped: bool = False) -> str:
    """Base units as an exact decimal amount of tokens: `format_amount(12_500_000_000_000_000_000) == "12.5"`.

    No rounding: every non-zero digit is kept and trailing zeros are dropped. `symbol`
    appends " CST"; `grouped` separates thousands in the whole part (`1,000.5`).
    """
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"base units are an int, not {type(units).__name__}")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), _UNIT)
    text = f"{whole:,}" if grouped else str(whole)
    digits = str(fraction).rjust(TOKEN_DECIMALS, "0").rstrip("0")
    if digits:
        text += "." + digits
    return sign + text + (f" {TOKEN_SYMBOL}" if symbol else "")

"""ledger.units: token amounts convert exactly between the decimal text a person types and base units.

The expected base units are written out by hand, independently of the module (tests/test_token_units.py
allows this file its literal scalings for that reason).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ProtocolValueError
from ledger.units import TOKEN_DECIMALS, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("12.5", 12_500_000_000_000_000_000),
        ("0", 0),
        (" 7 ", 7 * 10**TOKEN_DECIMALS),
        ("0.000000000000000001", 1),
        (".5", 5 * 10 ** (TOKEN_DECIMALS - 1)),
        ("3.", 3 * 10**TOKEN_DECIMALS),
        ("1.1000000000000000000000", 11 * 10 ** (TOKEN_DECIMALS - 1)),  # zeros past 18 decimals lose nothing
        (100, 100 * 10**TOKEN_DECIMALS),
        (Decimal("2.25"), 225 * 10 ** (TOKEN_DECIMALS - 2)),
        (Decimal("1E+2"), 100 * 10**TOKEN_DECIMALS),
    ],
)
def test_amounts_parse_exactly(text: str | int | Decimal, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "negative"),
        ("0.0000000000000000001", "more than the 18 decimals"),
        ("1e3", "not a plain decimal"),
        ("NaN", "not a plain decimal"),
        ("inf", "not a plain decimal"),
        ("", "not a plain decimal"),
        (".", "not a plain decimal"),
        ("+1", "not a plain decimal"),
        ("1,000", "not a plain decimal"),
        ("0x10", "not a plain decimal"),
        ("١٢", "not a plain decimal"),  # Arabic-Indic digits: int() would take them
        ("9" * 60, "does not fit a uint256"),
        ("9" * 5000, "does not fit a uint256"),
        (-1, "negative"),
        (12.5, "not float"),
        (True, "not bool"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-0.5"), "negative"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(value: object, reason: str) -> None:
    with pytest.raises(ProtocolValueError, match=reason):
        parse_amount(value)  # type: ignore[arg-type]  # the wrong types are the point


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (12_500_000_000_000_000_000, "12.5"),
        (0, "0"),
        (1, "0.000000000000000001"),
        (10**21 + 7, "1000.000000000000000007"),
        (-(10**18), "-1"),
    ],
)
def test_amounts_format_exactly(units: int, text: str) -> None:
    assert format_amount(units) == text
    assert format_amount(10**24 + 5 * 10**17, symbol=True, grouped=True) == "1,000,000.5 CST"


@given(st.integers(0, 2**256 - 1))
def test_format_then_parse_gives_back_every_unit(units: int) -> None:
    assert parse_amount(format_amount(units)) == units

"""Token amounts for people: exact decimal strings from base units, never through float.

Until the token's decimals and symbol live in one ledger module, they are stated here once
for the gateway (CustosToken is an 18-decimal ERC-20 named CST).
"""

from __future__ import annotations

from decimal import Decimal

TOKEN_DECIMALS = 18
TOKEN_SYMBOL = "CST"


def format_amount(units: int, decimals: int = TOKEN_DECIMALS, symbol: str = TOKEN_SYMBOL) -> str:
    """`units` base units as an exact decimal with thousands separators and the symbol.

    >>> format_amount(1000 * 10**18 + 7)
    '1,000.000000000000000007 CST'
    >>> format_amount(40 * 10**18)
    '40 CST'
    """
    exact = Decimal(units).scaleb(-decimals)
    whole, _, fraction = f"{exact:f}".partition(".")
    fraction = fraction.rstrip("0")
    text = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"{text} {symbol}"


def format_share(part: int, whole: int) -> str:
    """`part / whole` as a percentage with two decimals, computed exactly (e.g. '75.00 %')."""
    if whole == 0:
        return "0.00 %"
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.01'))} %"

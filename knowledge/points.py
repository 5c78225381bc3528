"""The one conversion between points and the integer hundredths they are stored in.

It lives at the bottom layer so that both the database (rulebook values) and scoring
(ledger, scores, notices) use it: points are Decimals with at most two decimals, stored as
exact integers, never floats.
"""

from __future__ import annotations

from decimal import Decimal

HUNDRED = 100


def cents_of(value: Decimal) -> int:
    """Exact integer hundredths of a value with at most two decimals (ValueError if more)."""
    cents = value * HUNDRED
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} 超过两位小数")
    return int(cents)


def decimal_of(cents: int) -> Decimal:
    """A value from integer hundredths, with two decimals (``10.50``)."""
    return Decimal(cents).scaleb(-2)


def points_of(cents: int) -> Decimal:
    """A value from integer hundredths as it was written, without trailing zeros (``10.5``,
    ``10``): the form a rulebook round-trips in."""
    value = decimal_of(cents)
    return value.quantize(Decimal(1)) if cents % HUNDRED == 0 else value.normalize()

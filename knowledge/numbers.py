"""The one strict number parser: every number a person or a file hands kpibot enters here.

Points, caps, review scores and rulebook values are written by people, in CSV, XLSX, YAML
and chat. A lenient parser turns ``1,5`` into 15 and ``1e3`` into 1000 without a word, and
pay rides on these numbers. So a number is accepted only in one plain form: ASCII or
full-width digits, one optional sign, at most one decimal point, at most two decimals (by
default), within a sane bound. Everything else is refused with the value and the reason,
and the caller adds file, line and field.

Hand-written on purpose: ``Decimal()``, ``float()`` and ``int()`` all accept underscores,
exponents, NaN and other scripts' digits, which is exactly what must be refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

MAX_MAGNITUDE = Decimal(1_000_000)
MAX_POINTS = Decimal(1000)
MAX_TEXT = 32  # longer than any number we accept; longer text is refused before parsing
CENT = Decimal("0.01")

# Full-width digits, point and signs (what a Chinese IME types) and the Unicode minus sign.
_ASCII_OF = str.maketrans("０１２３４５６７８９．＋－−", "0123456789.+--")
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_BLANKS = " \t\r\n\u3000\u00a0\ufeff"
_NOT_FINITE = {"nan", "inf", "infinity", "∞"}
_EXPONENT = re.compile(r"[0-9.]\s*[eE]\s*[+-]?[0-9]")


class NumberError(ValueError):
    """A value that is not an acceptable number: the value as written and why not."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        shown = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
        super().__init__(reason if not value else f"“{shown}”{reason}")


def _diagnose(text: str, written: str) -> str:
    """Why ``text`` (already trimmed, full-width folded) is not a plain number."""
    if text.strip("+-").removeprefix(".").lower() in _NOT_FINITE:  # YAML writes .inf
        return "不是有限的数字"
    if "," in text or "，" in text:
        return "含有逗号，不是有效数字（小数请用小数点，如 1.5）"
    if "_" in text:
        return "含有下划线，不是有效数字"
    if any(c in _BLANKS for c in text):
        return "中间有空格，不是有效数字"
    if _EXPONENT.search(text):
        return "是科学计数法，请直接写出数字（如 1000）"
    for char in text:
        if char.isdigit() and not char.isascii():
            name = unicodedata.name(char, "")
            return f"含有不支持的数字字符“{char}”{f'（{name}）' if name else ''}，请用 0-9"
    if text.count(".") > 1:
        return "有多个小数点，不是有效数字"
    if "+" in text[1:] or "-" in text[1:]:
        return "正负号位置不对，不是有效数字"
    del written
    return "不是有效数字"


def parse_number(
    text: str,
    *,
    decimals: int = 2,
    limit: Decimal = MAX_MAGNITUDE,
) -> Decimal:
    """The exact value of a plainly written number; :class:`NumberError` otherwise.

    Accepts ASCII or full-width digits, one optional leading sign, at most one decimal
    point and at most ``decimals`` decimals (trailing zeros beyond them are harmless), with
    an absolute value of at most ``limit``.
    """
    written = text
    trimmed = text.strip(_BLANKS)
    if not trimmed:
        raise NumberError("", "为空")
    if len(trimmed) > MAX_TEXT:
        raise NumberError(written, "过长，不是有效数字")
    folded = trimmed.translate(_ASCII_OF)
    if _PLAIN.fullmatch(folded) is None:
        raise NumberError(written.strip(_BLANKS), _diagnose(folded, written))
    value = Decimal(folded)
    return _checked(value, written.strip(_BLANKS), decimals=decimals, limit=limit)


def _checked(value: Decimal, written: str, *, decimals: int, limit: Decimal) -> Decimal:
    if not value.is_finite():
        raise NumberError(written, "不是有限的数字")
    if abs(value) > limit:
        raise NumberError(written, f"超出合理范围（绝对值最大 {limit}）")
    if value != value.quantize(Decimal(1).scaleb(-decimals)):
        allowed = {0: "不能有小数", 2: "超过两位小数"}.get(decimals, f"超过 {decimals} 位小数")
        raise NumberError(written, allowed)
    # normalise -0 and trailing zeros away, but keep whole numbers whole (1E+1 -> 10)
    value = value + 0
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def excel_number_text(value: float) -> str:
    """A numeric XLSX cell as Excel shows it: 15 significant digits, never an exponent.

    A formula's 0.1 + 0.2 arrives as 0.30000000000000004 and is the 0.3 its user sees.
    """
    if not math.isfinite(value):
        return str(value)
    shown = Decimal(format(value, ".15g"))
    return format(shown, "f")


def number_of(value: Any, *, decimals: int = 2, limit: Decimal = MAX_MAGNITUDE) -> Decimal:
    """A number from a typed value (YAML or XLSX: int, float, Decimal) or from text."""
    if isinstance(value, bool) or value is None:
        raise NumberError("" if value is None else str(value), "不是数字")
    if isinstance(value, int):
        if abs(value) > limit:
            # never format a 10**4000 int whole: Python refuses, and nobody reads it
            shown = str(value) if abs(value) < 10**MAX_TEXT else f"{str(value)[:MAX_TEXT]}…"
            raise NumberError(shown, f"超出合理范围（绝对值最大 {limit}）")
        return Decimal(value)
    if isinstance(value, float):
        return parse_number(excel_number_text(value), decimals=decimals, limit=limit)
    if isinstance(value, Decimal):
        return _checked(value, format(value, "f"), decimals=decimals, limit=limit)
    return parse_number(str(value), decimals=decimals, limit=limit)


def parse_points(
    value: Any,
    *,
    allow_negative: bool = True,
    allow_zero: bool = False,
    limit: Decimal = MAX_POINTS,
) -> Decimal:
    """Points: a number with at most two decimals, non-zero unless allowed, within ``limit``."""
    number = number_of(value, limit=limit)
    written = value if isinstance(value, str) else format(number, "f")
    if number == 0 and not allow_zero:
        raise NumberError(written.strip(_BLANKS), "不能为 0")
    if number < 0 and not allow_negative:
        raise NumberError(written.strip(_BLANKS), "不能为负数")
    return number


def parse_cents(value: Any, **options: Any) -> int:
    """Points as integer hundredths (how the ledger stores them)."""
    return int(parse_points(value, **options) * 100)


def parse_whole(value: Any, *, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high`` (a year, a count)."""
    number = number_of(value, decimals=0, limit=Decimal(max(abs(low), abs(high))))
    if not low <= number <= high:
        written = value if isinstance(value, str) else str(number)
        raise NumberError(written.strip(_BLANKS), f"超出范围（应为 {low}–{high}）")
    return int(number)

"""Checks that personal data did not leave: its digits, in whatever script they were written."""

from __future__ import annotations

import re
import unicodedata

_CHINESE_DIGITS = str.maketrans(
    "〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖",
    "001234567891123456789",
)


def digits(text: str) -> str:
    """Every digit of the text in order, whatever script or width it was written in."""
    folded = text.translate(_CHINESE_DIGITS)
    return "".join(
        str(unicodedata.decimal(c)) for c in folded if unicodedata.decimal(c, None) is not None
    )


_DIGIT = r"[\d〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖]"
# One number: digits with at most three spaces, dashes, dots or invisible characters between
# two of them (what the masker also reads as one number).
_NUMBER = re.compile(rf"{_DIGIT}(?:[\s\-.·—–－．\u200b-\u200f\u2060\ufeff\u00ad]{{0,3}}{_DIGIT})*")


def windows(text: str, width: int = 4) -> set[str]:
    """Every ``width`` consecutive digits within one number of the text."""
    found: set[str] = set()
    for match in _NUMBER.finditer(text):
        number = digits(match.group())
        found.update(number[i : i + width] for i in range(len(number) - width + 1))
    return found


def leaked_digits(before: str, secret: str, after: str, masked: str) -> set[str]:
    """Runs of four digits of the secret still in the masked text that the text around the
    secret does not explain."""
    around = windows(before) | windows(after)
    return (windows(secret) & windows(masked)) - around


def carries_digits_of(text: str, secret: str, width: int = 4) -> bool:
    """Whether one number in the text holds ``width`` consecutive digits of the secret."""
    return bool(windows(secret, width) & windows(text, width))

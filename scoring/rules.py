"""The scoring rules: defaults, overridable by the rulebook's optional ``scoring:`` block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from knowledge.files import InputError, Problem, parse_decimal

CENT = Decimal("0.01")
MAX_POINTS = Decimal(1000)


@dataclass(frozen=True)
class ScoringRules:
    """How ledger points become scores, ranks and flags."""

    base: Decimal = Decimal(100)
    bonus_cap: Decimal | None = None
    alert_threshold: Decimal = Decimal(85)
    review_weight: Decimal = Decimal("0.2")
    bottom_n: int = 1


KNOWN_KEYS = ("base", "bonus_cap", "alert_threshold", "review_weight", "bottom_n")


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("应为数字")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # a float only reaches here from a hand-built mapping
        return Decimal(repr(value))
    return parse_decimal(str(value))


def _points(value: Any, *, allow_zero: bool) -> Decimal:
    number = _number(value)
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError("必须大于 0" if not allow_zero else "不能为负数")
    if number > MAX_POINTS:
        raise ValueError("超出合理范围（最大 1000）")
    if number != number.quantize(CENT):
        raise ValueError("最多保留两位小数")
    return number


def rules_from_rulebook(scoring: Mapping[str, Any] | None, *, file: str = "细则") -> ScoringRules:
    """The rules a rulebook's ``scoring`` block sets; missing keys keep their defaults.

    Every problem in the block is reported at once, located by field.
    """
    if not scoring:
        return ScoringRules()
    defaults = ScoringRules()
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def fail(key: str, message: str) -> None:
        problems.append(Problem(file, message, field=f"scoring.{key}"))

    for key in scoring:
        if key not in KNOWN_KEYS:
            fail(str(key), f"未知的计分设置（可用：{'、'.join(KNOWN_KEYS)}）")
    for key, allow_zero in (("base", False), ("alert_threshold", True)):
        if key in scoring and scoring[key] is not None:
            try:
                values[key] = _points(scoring[key], allow_zero=allow_zero)
            except ValueError as exc:
                fail(key, str(exc))
    if "bonus_cap" in scoring:
        raw = scoring["bonus_cap"]
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "null", "none")):
            values["bonus_cap"] = None
        else:
            try:
                values["bonus_cap"] = _points(raw, allow_zero=True)
            except ValueError as exc:
                fail("bonus_cap", str(exc))
    if "review_weight" in scoring and scoring["review_weight"] is not None:
        try:
            weight = _number(scoring["review_weight"])
            if not Decimal(0) <= weight <= Decimal(1):
                raise ValueError("应在 0 到 1 之间")
            values["review_weight"] = weight
        except ValueError as exc:
            fail("review_weight", str(exc))
    if "bottom_n" in scoring and scoring["bottom_n"] is not None:
        try:
            count = _number(scoring["bottom_n"])
            if count != count.to_integral_value() or count < 0 or count > 1000:
                raise ValueError("应为 0 到 1000 之间的整数")
            values["bottom_n"] = int(count)
        except ValueError as exc:
            fail("bottom_n", str(exc))
    if problems:
        raise InputError(problems)
    return ScoringRules(
        base=values.get("base", defaults.base),
        bonus_cap=values.get("bonus_cap", defaults.bonus_cap),
        alert_threshold=values.get("alert_threshold", defaults.alert_threshold),
        review_weight=values.get("review_weight", defaults.review_weight),
        bottom_n=values.get("bottom_n", defaults.bottom_n),
    )

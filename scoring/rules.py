"""The scoring rules: defaults, overridable by the rulebook's optional ``scoring:`` block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from knowledge.files import InputError, Problem
from knowledge.numbers import NumberError, number_of, parse_points, parse_whole


@dataclass(frozen=True)
class ScoringRules:
    """How ledger points become scores, ranks and flags."""

    base: Decimal = Decimal(100)
    bonus_cap: Decimal | None = None
    alert_threshold: Decimal = Decimal(85)
    review_weight: Decimal = Decimal("0.2")
    bottom_n: int = 1


KNOWN_KEYS = ("base", "bonus_cap", "alert_threshold", "review_weight", "bottom_n")


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
                values[key] = parse_points(
                    scoring[key], allow_zero=allow_zero, allow_negative=False
                )
            except NumberError as exc:
                fail(key, str(exc))
    if "bonus_cap" in scoring:
        raw = scoring["bonus_cap"]
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "null", "none")):
            values["bonus_cap"] = None
        else:
            try:
                values["bonus_cap"] = parse_points(raw, allow_zero=True, allow_negative=False)
            except NumberError as exc:
                fail("bonus_cap", str(exc))
    if "review_weight" in scoring and scoring["review_weight"] is not None:
        try:
            weight = number_of(scoring["review_weight"], limit=Decimal(1))
            if weight < 0:
                raise NumberError(str(scoring["review_weight"]), "应在 0 到 1 之间")
            values["review_weight"] = weight
        except NumberError as exc:
            fail("review_weight", str(exc))
    if "bottom_n" in scoring and scoring["bottom_n"] is not None:
        try:
            values["bottom_n"] = parse_whole(scoring["bottom_n"], low=0, high=1000)
        except NumberError as exc:
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

"""Ranks within groups, the bottom-ranked (末位), and the gaps a unit has to close."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from scoring.rules import ScoringRules


@dataclass(frozen=True)
class Scored:
    """A unit's exact score for a period, ready to rank."""

    unit_code: str
    name: str
    group: str
    score: Fraction


@dataclass(frozen=True)
class Gap:
    """What a unit's score must become: exceed (``strict``) or reach ``target``."""

    target: Fraction
    strict: bool
    points: Fraction  # target − current score, never negative


@dataclass(frozen=True)
class RankedUnit:
    """A unit's place in its group."""

    rank: int
    unit_code: str
    name: str
    group: str
    score: Fraction
    bottom_by_rank: bool  # at or below the bottom_n-th lowest score of a group of 2+
    below_alert: bool  # below the alert threshold
    to_pass_above: Gap | None  # None for the first place
    to_leave_bottom: Gap | None  # None unless bottom-ranked, or when no score can leave it

    @property
    def bottom(self) -> bool:
        """Bottom-ranked (末位): by rank or below the alert threshold."""
        return self.bottom_by_rank or self.below_alert


@dataclass(frozen=True)
class GroupRanking:
    """One group's ranking, highest score first, equals in unit-code order."""

    group: str
    units: tuple[RankedUnit, ...]
    bottom_line: Fraction | None  # the bottom_n-th lowest score; None when rank does not apply

    def find(self, unit_code: str) -> RankedUnit | None:
        """A unit's entry in this group."""
        return next((u for u in self.units if u.unit_code == unit_code), None)


def competition_ranks(scores: Sequence[Fraction]) -> list[int]:
    """Ranks of scores already sorted highest first: equals share, the next skips (1,2,2,4)."""
    ranks: list[int] = []
    for position, score in enumerate(scores):
        if position and score == scores[position - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(position + 1)
    return ranks


def _leave_bottom_gap(
    score: Fraction, ascending: Sequence[Fraction], rules: ScoringRules
) -> Gap | None:
    """The smallest score that leaves the bottom; ``None`` when no score can.

    A unit leaves the rank-bottom exactly when it scores above the bottom_n-th lowest
    score of the *other* units, and leaves the alert when it reaches the threshold.
    ``ascending`` holds every score of the group (the unit's own included), lowest first.
    """
    alert = Fraction(rules.alert_threshold)
    n = rules.bottom_n
    if len(ascending) >= 2 and n >= 1:
        if len(ascending) - 1 < n:
            return None  # the whole group is within the last bottom_n places
        # Without one occurrence of ``score``, the n-th lowest is unchanged when the unit
        # is above it, and otherwise the next score moves up into n-th place.
        line = ascending[n - 1] if score > ascending[n - 1] else ascending[n]
        if line >= alert:
            return Gap(target=line, strict=True, points=max(line - score, Fraction(0)))
    return Gap(target=alert, strict=False, points=max(alert - score, Fraction(0)))


def rank_group(group: str, scored: Iterable[Scored], rules: ScoringRules) -> GroupRanking:
    """Rank one group's units by exact score and flag the bottom-ranked."""
    items = list(scored)
    # Sort on exact integers (scores × the common denominator): the same order as the
    # fractions, without thousands of Fraction comparisons.
    scale = math.lcm(*(s.score.denominator for s in items)) if items else 1
    keyed = sorted((-(s.score * scale).numerator, s.unit_code, s) for s in items)
    ordered = [s for _, _, s in keyed]
    scores = [s.score for s in ordered]
    ranks = competition_ranks(scores)
    ascending = scores[::-1]
    line: Fraction | None = None
    if len(ordered) >= 2 and rules.bottom_n >= 1:
        line = ascending[min(rules.bottom_n, len(ascending)) - 1]
    alert = Fraction(rules.alert_threshold)
    units: list[RankedUnit] = []
    above: Fraction | None = None  # the nearest strictly higher score
    for index, (item, rank) in enumerate(zip(ordered, ranks, strict=True)):
        if index and scores[index - 1] != item.score:
            above = scores[index - 1]
        by_rank = line is not None and item.score <= line
        below_alert = item.score < alert
        to_pass = (
            Gap(target=above, strict=True, points=above - item.score) if above is not None else None
        )
        to_leave: Gap | None = None
        if by_rank or below_alert:
            to_leave = _leave_bottom_gap(item.score, ascending, rules)
        units.append(
            RankedUnit(
                rank=rank,
                unit_code=item.unit_code,
                name=item.name,
                group=item.group,
                score=item.score,
                bottom_by_rank=by_rank,
                below_alert=below_alert,
                to_pass_above=to_pass,
                to_leave_bottom=to_leave,
            )
        )
    return GroupRanking(group=group, units=tuple(units), bottom_line=line)


def rank_groups(scored: Iterable[Scored], rules: ScoringRules) -> list[GroupRanking]:
    """Every group's ranking; groups in the order of their smallest unit code."""
    groups: dict[str, list[Scored]] = {}
    for item in scored:
        groups.setdefault(item.group, []).append(item)
    order = sorted(groups, key=lambda g: (min(s.unit_code for s in groups[g]), g))
    return [rank_group(group, groups[group], rules) for group in order]

"""Ranks within groups, the bottom-ranked (末位), and the gaps a unit has to close."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from scoring.rules import ScoringRules

BOTTOM_LABEL = "末位"
ALERT_LABEL = "预警"


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
    bottom_by_rank: bool  # at or below the bottom_n-th lowest score, in a group not all tied
    below_alert: bool  # below the alert threshold
    to_pass_above: Gap | None  # None for the first place
    to_leave_bottom: Gap | None  # None unless flagged, or when no score can leave it

    # The one definition of 末位 and 预警, used by every door and by the notices.

    @property
    def bottom(self) -> bool:
        """末位 (bottom-ranked): among the ``bottom_n`` lowest scores of a group of two or
        more whose units are not all tied. Equal scores everywhere make nobody bottom."""
        return self.bottom_by_rank

    @property
    def alert(self) -> bool:
        """预警: the score is below the alert line, whatever the rank."""
        return self.below_alert

    @property
    def flagged(self) -> bool:
        """末位 or 预警: the unit gets the month's rectification notice."""
        return self.bottom or self.alert

    @property
    def labels(self) -> tuple[str, ...]:
        """The flags in Chinese, as every door shows them: ``("末位", "预警")``."""
        return tuple(
            label for label, on in ((BOTTOM_LABEL, self.bottom), (ALERT_LABEL, self.alert)) if on
        )


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
    """The smallest score that leaves 末位 and 预警; ``None`` when no score can.

    A unit leaves the rank-bottom when it scores above the bottom_n-th lowest score of the
    *other* units, or when it joins the others' common score (a group all tied has no
    bottom); it leaves the alert when it reaches the threshold. ``ascending`` holds every
    score of the group (the unit's own included), lowest first.
    """
    alert = Fraction(rules.alert_threshold)
    n = rules.bottom_n
    if len(ascending) >= 2 and n >= 1:
        others = list(ascending)
        others.remove(score)
        if others[0] == others[-1] and others[0] > score and others[0] >= alert:
            tie = others[0]  # reaching it ties the whole group: nobody is bottom
            return Gap(target=tie, strict=False, points=tie - score)
        if len(others) < n:
            return None  # the whole group is within the last bottom_n places
        line = others[n - 1]
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
    # A group whose units all tie has no bottom: ranking them would single out everybody
    # (an empty month ties every unit at the base score).
    if len(ordered) >= 2 and rules.bottom_n >= 1 and scores[0] != scores[-1]:
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

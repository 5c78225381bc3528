"""Measure a matcher against a labelled question set (the calibration and test yardstick)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.matcher import MatchResult, Outcome


@dataclass(frozen=True)
class LabelledQuestion:
    """A question and the indicator codes that count as right (none: out of scope)."""

    q: str
    expect: frozenset[str]
    kind: str


def load_questions(path: Path) -> list[LabelledQuestion]:
    """Read a labelled set (YAML list of q / expect / kind)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuestion(str(item["q"]), frozenset(item.get("expect") or ()), str(item["kind"]))
        for item in raw
    ]


def _right_of_total() -> list[int]:
    """A kind's [right, total] before any question (a named function, so an evaluation can be
    pickled, e.g. back from a leave-one-out worker process)."""
    return [0, 0]


@dataclass
class Evaluation:
    """Rates over a labelled set; see :func:`evaluate` for the definitions."""

    in_scope: int = 0
    out_of_scope: int = 0
    top1: int = 0
    answered_right: int = 0
    confident_wrong: int = 0
    oos_rejected: int = 0
    oos_answered: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(_right_of_total))
    # per kind, in-scope questions answered right or clarified with a right candidate listed
    helped_by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[tuple[LabelledQuestion, MatchResult]] = field(default_factory=list)

    @property
    def top1_accuracy(self) -> float:
        """In-scope questions whose best candidate is acceptable (answer or clarify)."""
        return self.top1 / self.in_scope if self.in_scope else 0.0

    @property
    def clarify_contains(self) -> int:
        """In-scope questions clarified with a right candidate listed: the helped ones that
        were not answered right."""
        return sum(self.helped_by_kind.values()) - self.answered_right

    @property
    def helpful_rate(self) -> float:
        """In-scope questions answered right or clarified with a right candidate listed."""
        return sum(self.helped_by_kind.values()) / self.in_scope if self.in_scope else 0.0

    def helped(self, kind: str) -> float:
        """:attr:`helpful_rate` over the in-scope questions of one kind."""
        total = self.by_kind[kind][1] if kind in self.by_kind else 0
        return self.helped_by_kind.get(kind, 0) / total if total else 0.0

    @property
    def oos_rejection(self) -> float:
        """Out-of-scope questions that came back as none."""
        return self.oos_rejected / self.out_of_scope if self.out_of_scope else 0.0

    @property
    def confident_wrong_rate(self) -> float:
        """Answers (status answer) that were wrong, over all questions."""
        total = self.in_scope + self.out_of_scope
        return (self.confident_wrong + self.oos_answered) / total if total else 0.0


def evaluate(
    questions: Sequence[LabelledQuestion], match: Callable[[str], MatchResult]
) -> Evaluation:
    """Run every question through ``match`` and count the outcomes."""
    result = Evaluation()
    for question in questions:
        outcome = match(question.q)
        codes = [m.code for m in outcome.matches]
        if not question.expect:
            result.out_of_scope += 1
            if outcome.status is Outcome.NONE:
                result.oos_rejected += 1
            else:
                if outcome.status is Outcome.ANSWER:
                    result.oos_answered += 1
                result.failures.append((question, outcome))
            result.by_kind[question.kind][0] += outcome.status is Outcome.NONE
            result.by_kind[question.kind][1] += 1
            continue
        result.in_scope += 1
        right = bool(codes) and codes[0] in question.expect
        result.top1 += right
        if outcome.status is Outcome.ANSWER:
            result.answered_right += right
            result.confident_wrong += not right
            result.helped_by_kind[question.kind] += right
        elif outcome.status is Outcome.CLARIFY and question.expect & set(codes):
            result.helped_by_kind[question.kind] += 1
        if not right or outcome.status is not Outcome.ANSWER:
            result.failures.append((question, outcome))
        result.by_kind[question.kind][0] += right
        result.by_kind[question.kind][1] += 1
    return result


def office_month(
    match: Callable[[str], MatchResult], month: Sequence[LabelledQuestion]
) -> dict[str, list[str]]:
    """The phrasings an office attaches after a month of ``month``'s questions, as from
    ``kpibot report unanswered``: every in-scope question not answered right, to its first
    labelled indicator (out-of-scope ones are left alone)."""
    learned: dict[str, list[str]] = defaultdict(list)
    for question in month:
        if not question.expect:
            continue
        result = match(question.q)
        best = result.best
        if result.status is Outcome.ANSWER and best is not None and best.code in question.expect:
            continue
        learned[sorted(question.expect)[0]].append(question.q)
    return dict(learned)

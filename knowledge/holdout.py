"""Leave-one-rulebook-out: choose the decision's global parameters on the other rulebooks.

Every rulebook comes with its labelled questions. For each rulebook in turn, the global
parameters (:class:`~knowledge.prepare.DecisionParams`) are chosen on all the *other*
rulebooks, then the left-out rulebook is calibrated on its own FAQ, aliases and the
out-of-scope bank (as at import) and measured on its labelled questions. Weights chosen on
the set they are measured on are not evidence; this keeps them apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from knowledge.calibration import Calibration
from knowledge.evaluation import Evaluation, LabelledQuestion, evaluate, load_questions
from knowledge.matcher import Matcher, Scored
from knowledge.prepare import CalibrationData, DecisionParams, calibrate, calibration_data
from knowledge.rulebook import Rulebook
from knowledge.rulebook_files import read_rulebook

RIDGES = (0.3, 1.0, 3.0, 10.0)
ANSWER_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CLARIFY_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# The ceiling the parameters must keep on every training rulebook.
MAX_CONFIDENT_WRONG = 0.015


@dataclass(frozen=True)
class LabelledRulebook:
    """A rulebook and the questions written for it."""

    name: str
    rulebook: Rulebook
    questions: list[LabelledQuestion]


@dataclass
class PreparedCase:
    """A rulebook's matcher, calibration data and scored questions, computed once."""

    book: LabelledRulebook
    matcher: Matcher
    data: CalibrationData
    scored: dict[str, Scored]
    fits: dict[float, Calibration] = field(default_factory=dict)

    def evaluate(self, params: DecisionParams) -> Evaluation:
        """The labelled questions under a calibration fitted with ``params``."""
        fitted = self.fits.get(params.ridge)
        if fitted is None:  # the fit depends on the ridge only; thresholds are applied after
            fitted = self.fits[params.ridge] = calibrate(self.data, params)
        calibration = replace(
            fitted,
            answer_threshold=params.answer_threshold,
            clarify_threshold=params.clarify_threshold,
        )
        return evaluate(
            self.book.questions,
            lambda text: self.matcher.decide(text, self.scored[text], calibration),
        )


def load_labelled(rulebook_path: Path, questions_path: Path) -> LabelledRulebook:
    """A rulebook file and its labelled questions file."""
    name = rulebook_path.name.removesuffix(".yaml")
    return LabelledRulebook(name, read_rulebook(rulebook_path), load_questions(questions_path))


def labelled_rulebooks(root: Path) -> list[LabelledRulebook]:
    """The sample rulebook and every ``tests/data/rulebooks/X.yaml`` with ``X.questions.yaml``."""
    books = [
        load_labelled(
            root / "knowledge" / "rulebooks" / "tax_bureau_2026.yaml",
            root / "tests" / "data" / "questions.yaml",
        )
    ]
    for path in sorted((root / "tests" / "data" / "rulebooks").glob("*.yaml")):
        questions = path.with_name(path.name.removesuffix(".yaml") + ".questions.yaml")
        if not path.name.endswith(".questions.yaml") and questions.is_file():
            books.append(load_labelled(path, questions))
    return books


def prepare_case(book: LabelledRulebook, negatives: Sequence[str] | None = None) -> PreparedCase:
    """Build, gather calibration data and score every labelled question once."""
    matcher = Matcher(book.rulebook.indicators, background=negatives)
    data = calibration_data(matcher, negatives=negatives)
    scored = {q.q: matcher.scored(q.q) for q in book.questions}
    return PreparedCase(book, matcher, data, scored)


def objective(ev: Evaluation) -> float:
    """What the parameters are chosen for: the right indicator first, out-of-scope questions
    refused, and (less) confident right answers rather than clarifications."""
    return ev.top1_accuracy + ev.oos_rejection + 0.25 * ev.answered_right / max(ev.in_scope, 1)


def choose_params(training: Sequence[PreparedCase]) -> DecisionParams:
    """The parameters with the best mean objective that keep confident-wrong answers under
    the ceiling on every training rulebook (or, if none does, the fewest of them)."""
    best: tuple[tuple[int, float], DecisionParams] | None = None
    for ridge, answer, clarify in itertools.product(RIDGES, ANSWER_THRESHOLDS, CLARIFY_THRESHOLDS):
        params = DecisionParams(ridge, answer, clarify)
        results = [case.evaluate(params) for case in training]
        worst = max(ev.confident_wrong_rate for ev in results)
        keeps = worst <= MAX_CONFIDENT_WRONG
        value = sum(objective(ev) for ev in results) if keeps else -worst
        if best is None or (int(keeps), value) > best[0]:
            best = ((int(keeps), value), params)
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class HeldOut:
    """One left-out rulebook: the parameters chosen without it and its figures."""

    name: str
    params: DecisionParams
    evaluation: Evaluation


def leave_one_out(cases: Sequence[PreparedCase]) -> list[HeldOut]:
    """Each rulebook measured under parameters chosen on all the others."""
    held: list[HeldOut] = []
    for k, case in enumerate(cases):
        params = choose_params([c for j, c in enumerate(cases) if j != k])
        held.append(HeldOut(case.book.name, params, case.evaluate(params)))
    return held

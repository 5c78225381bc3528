"""What the office's review loop buys: one month of questions attached, the next month measured.

    python benchmarks/bench_learning.py

For each rulebook with a labelled question set, the questions are split into two "months"
(alternate questions, so every indicator has questions in both). Month 1 is asked; every
in-scope question the matcher did not answer right is attached to its labelled indicator,
as the office would from ``kpibot report unanswered`` (a clarify pick has the same effect);
out-of-scope ones are left alone. Month 2 (questions never seen) is then measured with and
without the learned phrasings, next to month 1 asked again.

Each matcher is the one the product uses (:func:`knowledge.prepare.prepare_matcher`, as
behind ``kpibot ask`` and the bot): its index built and its decision calibrated on the
rulebook, with the learned phrasings among the calibration's positives once attached.
Nothing was tuned for this benchmark and the split is fixed, but the decision's global
parameters (:class:`knowledge.prepare.DecisionParams`) were chosen on these four rulebooks'
labelled questions, so the "no learning" rows are not held-out figures.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.evaluation import Evaluation, LabelledQuestion, evaluate, load_questions  # noqa: E402
from knowledge.matcher import Matcher, Outcome  # noqa: E402
from knowledge.prepare import prepare_matcher  # noqa: E402
from knowledge.rulebook_files import read_rulebook  # noqa: E402

SETS = (
    (ROOT / "knowledge/rulebooks/tax_bureau_2026.yaml", ROOT / "tests/data/questions.yaml"),
    *(
        (path, path.with_suffix(".questions.yaml"))
        for path in sorted((ROOT / "tests/data/rulebooks").glob("*_2026.yaml"))
    ),
)


def office_month(matcher: Matcher, month: Sequence[LabelledQuestion]) -> dict[str, list[str]]:
    """The phrasings the office attaches after a month: in-scope questions not answered right."""
    learned: dict[str, list[str]] = defaultdict(list)
    for question in month:
        if not question.expect:
            continue
        result = matcher.match_question(question.q)
        best = result.best
        if result.status is Outcome.ANSWER and best is not None and best.code in question.expect:
            continue
        learned[sorted(question.expect)[0]].append(question.q)
    return dict(learned)


def row(name: str, evaluation: Evaluation) -> str:
    answered = evaluation.answered_right / max(1, evaluation.in_scope)
    return (
        f"{name:<34} {evaluation.top1_accuracy:>6.3f} {answered:>8.3f}"
        f" {evaluation.oos_rejection:>6.3f} {evaluation.confident_wrong_rate:>7.3f}"
    )


def main() -> None:
    print(f"{'rulebook / matcher':<34} {'top-1':>6} {'answered':>8} {'oos':>6} {'c-wrong':>7}")
    for rulebook_path, questions_path in SETS:
        indicators = read_rulebook(rulebook_path).indicators
        questions = load_questions(questions_path)
        month1, month2 = questions[0::2], questions[1::2]
        plain = prepare_matcher(indicators)
        learned = office_month(plain, month1)
        taught = prepare_matcher(indicators, learned=learned)
        attached = sum(len(q) for q in learned.values())
        print(f"{rulebook_path.stem} (month 1: {len(month1)} asked, {attached} attached)")
        print(row("  month 2, no learning (baseline)", evaluate(month2, plain.match_question)))
        print(row("  month 2, after month 1 learned", evaluate(month2, taught.match_question)))
        print(row("  month 1 asked again, learned", evaluate(month1, taught.match_question)))


if __name__ == "__main__":
    main()

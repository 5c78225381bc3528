"""Prepare a rulebook's matcher: build its index and calibrate its decision (import time).

Calibration scores the rulebook's own FAQ questions, aliases and learned phrasings as if they
were new questions: they are split into two folds, and each fold is scored on an index built
without it. The out-of-scope bank is scored on the full index. The two logistic models of
:mod:`knowledge.calibration` are fitted on those features.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace

from knowledge.calibration import (
    Calibration,
    Features,
    fit_calibration,
    out_of_scope_bank,
    service_templates,
)
from knowledge.index import IndexBuilder, LexicalIndex
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.rulebook import Indicator, Level
from knowledge.style import StyleModel
from knowledge.synonyms import OfficeSynonym

# Enough held-out positives for seven coefficients; more only slows a large import.
MAX_POSITIVES = 500
# Service questions around the rulebook's own terms: two per indicator, at most this many.
SERVICE_PER_INDICATOR = 2
MAX_SERVICE_NEGATIVES = 400
FOLDS = 2


@dataclass(frozen=True)
class DecisionParams:
    """The global parameters of the decision, chosen by leave-one-rulebook-out."""

    # Chosen by `choose_params` (2026-12-02, session 18; the same in session 21, which
    # `tests/test_matcher_holdout.py` checks) on all thirty-three labelled rulebooks; 32 of the
    # 33 leave-one-out folds make the same choice (the fold without development and reform
    # chooses an answer threshold of 0.6). Each held-out figure in docs/benchmarks.md uses
    # the choice made without its rulebook instead.
    ridge: float = 10.0
    answer_threshold: float = 0.7
    clarify_threshold: float = 0.2
    points_clarify_threshold: float = 0.1
    # refuse a question the question-style model finds more likely off topic than not
    # (:mod:`knowledge.style`); 1.0 refuses nothing
    off_topic_threshold: float = 0.5


@dataclass(frozen=True)
class Positive:
    """A phrasing the rulebook itself gives for an indicator."""

    doc: int
    text: str
    kind: str  # "faq", "alias", "learned" or "reading" (the branch-level interpretation)
    position: int


@dataclass(frozen=True)
class CalibrationData:
    """Features of the held-out positives (with whether top-1 was right) and of the negatives."""

    positives: list[tuple[Features, bool]]
    negatives: list[Features]


def rulebook_positives(
    indicators: Sequence[Indicator], learned: Mapping[str, Sequence[str]]
) -> list[Positive]:
    """Every FAQ question, alias, learned phrasing and branch reading, evenly thinned to
    ``MAX_POSITIVES``."""
    found: list[Positive] = []
    for doc, indicator in enumerate(indicators):
        found += [Positive(doc, f.q, "faq", n) for n, f in enumerate(indicator.faq)]
        found += [Positive(doc, a, "alias", n) for n, a in enumerate(indicator.aliases)]
        # The branch's reading describes day-to-day situations in plain words, as staff do.
        found += [
            Positive(doc, i.text, "reading", n)
            for n, i in enumerate(indicator.interpretations)
            if i.level is Level.BRANCH
        ]
        found += [
            Positive(doc, q, "learned", n) for n, q in enumerate(learned.get(indicator.code, ()))
        ]
    step = max(1, -(-len(found) // MAX_POSITIVES))
    return found[::step]


def service_negatives(indicators: Sequence[Indicator]) -> list[str]:
    """Practical questions about what the rulebook's own terms name ("网格巡查的APP老是闪退",
    "法律援助要满足什么条件"): out of scope, yet full of the rulebook's words, which the shipped
    bank of office questions cannot be. Each indicator's shortest name or alias fills
    ``SERVICE_PER_INDICATOR`` templates in turn; evenly thinned to ``MAX_SERVICE_NEGATIVES``."""
    templates = service_templates()
    step = max(1, -(-len(indicators) * SERVICE_PER_INDICATOR // MAX_SERVICE_NEGATIVES))
    found: list[str] = []
    for n, indicator in enumerate(indicators[::step]):
        term = min((indicator.name, *indicator.aliases), key=len)
        for k in range(SERVICE_PER_INDICATOR):
            found.append(templates[(n + k) % len(templates)].replace("{t}", term))
    return found


def _without(
    indicators: Sequence[Indicator],
    learned: Mapping[str, Sequence[str]],
    held: Sequence[Positive],
) -> tuple[list[Indicator], dict[str, list[str]]]:
    drop = {(p.doc, p.kind, p.position) for p in held}
    kept: list[Indicator] = []
    kept_learned: dict[str, list[str]] = {}
    for doc, item in enumerate(indicators):
        kept.append(
            replace(
                item,
                faq=tuple(f for n, f in enumerate(item.faq) if (doc, "faq", n) not in drop),
                aliases=tuple(
                    a for n, a in enumerate(item.aliases) if (doc, "alias", n) not in drop
                ),
                interpretations=tuple(
                    i for n, i in enumerate(item.interpretations) if (doc, "reading", n) not in drop
                ),
            )
        )
        kept_learned[item.code] = [
            q for n, q in enumerate(learned.get(item.code, ())) if (doc, "learned", n) not in drop
        ]
    return kept, kept_learned


def calibration_data(
    matcher: Matcher,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    negatives: Sequence[str] | None = None,
    fold_indexes: MutableMapping[int, LexicalIndex] | None = None,
) -> CalibrationData:
    """Score the rulebook's own phrasings held out (positives); the out-of-scope bank and
    service questions around the rulebook's own terms (negatives).

    ``fold_indexes`` caches the held-out folds' indexes: they depend on the rulebook, the
    phrasings and the bank, not on how candidates are ranked, so a caller that scores the
    same rulebook again under other ranking weights passes the same mapping and skips the
    builds (the leave-one-out folds do)."""
    learned = learned or {}
    indicators = matcher.indicators
    bank = out_of_scope_bank() if negatives is None else list(negatives)
    positives = rulebook_positives(indicators, learned)
    scored_positives: list[tuple[Features, bool]] = []
    builder: IndexBuilder | None = None
    for fold in range(FOLDS):
        held = positives[fold::FOLDS]
        if not held:
            continue
        kept, kept_learned = _without(indicators, learned, held)
        index = None if fold_indexes is None else fold_indexes.get(fold)
        if index is None:
            builder = builder or IndexBuilder(
                indicators, synonyms, matcher.config.association_excluded
            )
            index = builder.build(kept, kept_learned, bank)
            if fold_indexes is not None:
                fold_indexes[fold] = index
        reduced = Matcher(kept, matcher.config, index=index)
        for positive in held:
            result = reduced.scored(positive.text)
            if result.features is not None:
                right = result.ranked[0][0] == positive.doc
                scored_positives.append((result.features, right))
    scored_negatives = [
        result.features
        for text in bank
        if (result := matcher.scored(text, in_background=True)).features is not None
    ]
    scored_negatives += [
        result.features
        for text in service_negatives(indicators)
        if (result := matcher.scored(text)).features is not None
    ]
    return CalibrationData(scored_positives, scored_negatives)


def calibrate(data: CalibrationData, params: DecisionParams) -> Calibration:
    """Fit the decision on calibration data under the global parameters."""
    return fit_calibration(
        data.positives,
        data.negatives,
        ridge=params.ridge,
        answer_threshold=params.answer_threshold,
        clarify_threshold=params.clarify_threshold,
        points_clarify_threshold=params.points_clarify_threshold,
        off_topic_threshold=params.off_topic_threshold,
    )


def prepare_matcher(
    indicators: Sequence[Indicator],
    config: MatcherConfig | None = None,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    negatives: Sequence[str] | None = None,
    params: DecisionParams | None = None,
    style: StyleModel | None = None,
) -> Matcher:
    """A matcher with its index built and its decision calibrated on this rulebook
    (``style``: the question-style model, the shipped one by default)."""
    matcher = Matcher(
        indicators, config, synonyms=synonyms, learned=learned, background=negatives, style=style
    )
    data = calibration_data(matcher, synonyms=synonyms, learned=learned, negatives=negatives)
    matcher.calibration = calibrate(data, params or DecisionParams())
    return matcher

"""The matcher on rulebooks it was not tuned on: leave-one-rulebook-out floors, and the rules
the held-out question sets are written by."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from knowledge.evaluation import LabelledQuestion
from knowledge.holdout import (
    HeldOut,
    LabelledRulebook,
    PreparedCase,
    choose_params,
    labelled_rulebooks,
    leave_one_out,
    prepare_cases,
)
from knowledge.prepare import DecisionParams
from knowledge.text import bigrams, compact

ROOT = Path(__file__).resolve().parents[1]
BOOKS = labelled_rulebooks(ROOT)
HELD_OUT_BOOKS = [b for b in BOOKS if b.name != "tax_bureau_2026"]

# Measured 2026-12-03 (session 21: the question-style model also learns from the out-of-scope
# bank and each rulebook's service questions; 了没有 asks; a service question must ask)
# over thirty-three rulebooks (see docs/benchmarks.md); floors sit three points below, the
# confident-wrong ceilings half a point above (at least 1%). All but the tax,
# community, ecology and education sets were written blind to the matcher; audit,
# development and reform, industry and IT, the 12345 hotline centre and the township
# government (read F, session 17) had been measured twice before this change (sessions 17
# and 18), their misses unread.
# name: (top-1, paraphrase top-1, OOS rejection, confident-wrong ceiling)
FLOORS = {
    "tax_bureau_2026": (0.93, 0.87, 0.95, 0.01),
    "admin_approval_2026": (0.85, 0.62, 0.95, 0.015),
    "agriculture_bureau_2026": (0.89, 0.75, 0.92, 0.01),
    "audit_bureau_2026": (0.82, 0.57, 0.89, 0.01),
    "civil_affairs_2026": (0.84, 0.64, 0.97, 0.015),
    "commerce_bureau_2026": (0.91, 0.80, 0.92, 0.01),
    "community_cadres_2026": (0.89, 0.73, 0.90, 0.01),
    "culture_tourism_2026": (0.85, 0.64, 0.94, 0.01),
    "devreform_bureau_2026": (0.86, 0.70, 0.90, 0.025),
    "ecology_bureau_2026": (0.91, 0.84, 0.91, 0.015),
    "education_bureau_2026": (0.89, 0.80, 0.93, 0.01),
    "emergency_bureau_2026": (0.89, 0.73, 0.91, 0.01),
    "finance_bureau_2026": (0.85, 0.65, 0.91, 0.01),
    "health_commission_2026": (0.88, 0.68, 0.97, 0.01),
    "hotline_centre_2026": (0.82, 0.55, 0.88, 0.01),
    "housing_construction_2026": (0.86, 0.67, 0.94, 0.01),
    "hrss_bureau_2026": (0.89, 0.75, 0.93, 0.01),
    "industry_bureau_2026": (0.89, 0.69, 0.95, 0.015),
    "justice_bureau_2026": (0.90, 0.76, 0.91, 0.02),
    "landscaping_bureau_2026": (0.90, 0.73, 0.93, 0.01),
    "market_bureau_2026": (0.91, 0.76, 0.92, 0.01),
    "medical_insurance_2026": (0.85, 0.60, 0.94, 0.01),
    "natural_resources_2026": (0.88, 0.70, 0.97, 0.01),
    "petition_bureau_2026": (0.84, 0.64, 0.88, 0.02),
    "public_security_2026": (0.89, 0.76, 0.88, 0.015),
    "science_tech_2026": (0.88, 0.74, 0.95, 0.01),
    "sports_bureau_2026": (0.82, 0.54, 0.97, 0.01),
    "statistics_bureau_2026": (0.82, 0.56, 0.88, 0.015),
    "township_gov_2026": (0.86, 0.67, 0.90, 0.01),
    "transport_bureau_2026": (0.90, 0.74, 0.91, 0.01),
    "urban_management_2026": (0.87, 0.68, 0.92, 0.02),
    "veterans_affairs_2026": (0.83, 0.64, 0.92, 0.01),
    "water_affairs_2026": (0.89, 0.74, 0.88, 0.01),
}


def _shared_bigrams(question: LabelledQuestion, book: LabelledRulebook) -> int:
    """The most character bigrams the question shares with one acceptable indicator's name
    and aliases (a question two indicators may answer is checked against each)."""
    indicators = book.rulebook.by_code()
    asked = set(bigrams(compact(question.q)))
    shared = 0
    for code in question.expect:
        titles = (indicators[code].name, *indicators[code].aliases)
        grams = {gram for title in titles for gram in bigrams(compact(title))}
        shared = max(shared, len(asked & grams))
    return shared


@pytest.mark.parametrize("book", HELD_OUT_BOOKS, ids=lambda b: b.name)
def test_paraphrases_share_at_most_one_bigram_with_the_titles(book: LabelledRulebook) -> None:
    paraphrases = [q for q in book.questions if q.kind == "reword"]
    assert len(paraphrases) >= 40
    offending = [q.q for q in paraphrases if _shared_bigrams(q, book) > 1]
    assert offending == []


@pytest.mark.parametrize("book", HELD_OUT_BOOKS, ids=lambda b: b.name)
def test_held_out_sets_are_big_and_cover_every_indicator(book: LabelledRulebook) -> None:
    kinds = Counter(q.kind for q in book.questions)
    assert sum(1 for q in book.questions if q.expect) >= 200
    assert kinds["oos"] >= 40
    assert 30 <= len(book.rulebook.indicators) <= 50
    codes = {i.code for i in book.rulebook.indicators}
    assert all(q.expect <= codes for q in book.questions)
    assert {c for q in book.questions for c in q.expect} == codes


def test_at_least_three_other_bureaus() -> None:
    assert len(HELD_OUT_BOOKS) >= 3


def test_every_labelled_rulebook_has_floors() -> None:
    assert set(FLOORS) == {book.name for book in BOOKS}


@pytest.fixture(scope="module")
def cases() -> list[PreparedCase]:
    # two processes: the other tests are done long before this fixture on two workers
    return prepare_cases(BOOKS, workers=2)


@pytest.fixture(scope="module")
def held_out(cases: list[PreparedCase]) -> dict[str, HeldOut]:
    return {result.name: result for result in leave_one_out(cases, workers=2)}


def test_the_shipped_decision_parameters_are_the_choice_on_every_rulebook(
    cases: list[PreparedCase],
) -> None:
    """What a new bureau's import uses: the choice made on all the labelled rulebooks."""
    assert choose_params(cases) == DecisionParams()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_leave_one_rulebook_out_floors(held_out: dict[str, HeldOut], name: str) -> None:
    top1, paraphrase, oos, wrong = FLOORS[name]
    ev = held_out[name].evaluation
    right, total = ev.by_kind["reword"]
    assert ev.top1_accuracy >= top1
    assert right / total >= paraphrase
    assert ev.oos_rejection >= oos
    assert ev.confident_wrong_rate <= wrong

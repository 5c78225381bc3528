"""Learning from picks and votes, through the use cases every door calls, on a real database.

A question is logged, its log id comes back with the pick or the vote (as a button payload
carries it), and a second ``Services`` (another process) sees what was learned.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import learning
from bot.services import Services
from bot.settings import Settings
from db import rulebook_store
from knowledge.matcher import MatchResult, Outcome
from knowledge.rulebook_files import read_rulebook
from tests.conftest import SAMPLE_RULEBOOK

AMBIGUOUS = "12366"  # fits KF-03 (工单超时) and DL-05 (接通率与办结率) alike


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    services = Services(Settings(database_url=database_url))
    with services.session() as session:
        rulebook_store.import_rulebook(
            session=session,
            rulebook=read_rulebook(SAMPLE_RULEBOOK),
            source=SAMPLE_RULEBOOK.name,
            imported_by="test",
        )
    yield services
    services.close()


def asked(services: Services, question: str, *, by: str = "tg:1") -> tuple[MatchResult, int]:
    matcher = services.matcher()
    assert matcher is not None
    result = matcher.match_question(question)
    (question_id,) = services.conversation.record([result], channel="telegram", asked_by=by)
    return result, question_id


def fresh_outcome(services: Services, question: str) -> tuple[Outcome, list[str]]:
    """What another process, starting now, answers."""
    other = Services(services.settings)
    try:
        matcher = other.matcher()
        assert matcher is not None
        result = matcher.match_question(question)
        return result.status, [m.code for m in result.matches]
    finally:
        other.close()


def counts(services: Services, code: str) -> tuple[int, int, int]:
    report = learning.questions_report(services)
    (line,) = [line for line in report.lines if line.code == code]
    return line.counts.useful, line.counts.not_useful, line.counts.learned


def test_a_picked_candidate_makes_the_same_question_answered_next_time(
    services: Services,
) -> None:
    result, question_id = asked(services, AMBIGUOUS)
    assert (result.status, sorted(m.code for m in result.matches)) == (
        Outcome.CLARIFY,
        ["DL-05", "KF-03"],
    )
    learning.record_pick(services, question_id, "DL-05", by="tg:1")
    again, _ = asked(services, AMBIGUOUS + "？")
    assert (again.status, [m.code for m in again.matches]) == (Outcome.ANSWER, ["DL-05"])
    assert fresh_outcome(services, AMBIGUOUS) == (Outcome.ANSWER, ["DL-05"])
    _total, groups = learning.unanswered_groups(services)
    assert groups == []  # a resolved question leaves the office's list


def test_a_pick_of_a_code_that_was_not_offered_teaches_nothing(services: Services) -> None:
    _result, question_id = asked(services, AMBIGUOUS)
    learning.record_pick(services, question_id, "DL-01", by="tg:1")
    assert fresh_outcome(services, AMBIGUOUS)[0] is Outcome.CLARIFY
    assert learning.questions_report(services).unanswered == 1


def test_thumbs_up_teaches_and_thumbs_down_from_the_same_user_counts_once(
    services: Services,
) -> None:
    _result, question_id = asked(services, AMBIGUOUS)
    learning.record_vote(
        services, question_id, "KF-03", voter="tg:1", useful=True, channel="telegram"
    )
    assert counts(services, "KF-03") == (1, 0, 1)
    assert fresh_outcome(services, AMBIGUOUS) == (Outcome.ANSWER, ["KF-03"])
    learning.record_vote(
        services, question_id, "KF-03", voter="tg:1", useful=False, channel="telegram"
    )
    assert counts(services, "KF-03") == (0, 1, 0)  # the last press counts, and it unteaches
    assert fresh_outcome(services, AMBIGUOUS)[0] is Outcome.CLARIFY


def test_votes_of_two_users_both_count_and_one_thumbs_down_keeps_the_others_lesson(
    services: Services,
) -> None:
    _result, question_id = asked(services, AMBIGUOUS)
    for voter in ("tg:1", "tg:2"):
        learning.record_vote(
            services, question_id, "KF-03", voter=voter, useful=True, channel="telegram"
        )
    learning.record_vote(
        services, question_id, "KF-03", voter="tg:2", useful=False, channel="telegram"
    )
    assert counts(services, "KF-03") == (1, 1, 1)
    assert fresh_outcome(services, AMBIGUOUS) == (Outcome.ANSWER, ["KF-03"])


def test_a_running_bot_sees_what_the_office_attached_from_another_process(
    services: Services,
) -> None:
    question = "老板在大厅干坐了一个钟头才轮到他"
    running = Services(services.settings.model_copy(update={"learning_refresh_seconds": 0}))
    try:
        first, _ = asked(running, question)
        assert first.status is Outcome.NONE
        (group,) = learning.unanswered_groups(services)[1]
        learning.attach(services, group.label, "DL-06", by="cli")  # the office, elsewhere
        again, _ = asked(running, question)
        assert (again.status, [m.code for m in again.matches]) == (Outcome.ANSWER, ["DL-06"])
    finally:
        running.close()

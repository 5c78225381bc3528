"""Questions and indicator cards: the question-answering use cases of the core.

It knows nothing of any door: a question goes in, a :class:`~bot.core.reply.Reply` comes out,
with the buttons that switch interpretation levels, give feedback or pick a candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.errors import UserError
from bot.core.reply import Button, Reply, column
from bot.render import Renderer
from bot.services import Services
from knowledge.matcher import MatchResult, Outcome
from knowledge.rulebook import Indicator, IndicatorHeading, IndicatorType, Level

FEEDBACK = (("👍 有帮助", "1"), ("👎 没帮助", "0"))
ATTACH_BUTTON_GROUPS = 5  # groups offered attach buttons in /unanswered


def example_questions(indicators: Sequence[IndicatorHeading]) -> list[str]:
    """A few questions the rulebook can answer, one per indicator type."""
    examples: list[str] = []
    phrasing = {
        IndicatorType.QUANTITATIVE: "{}怎么计分？",
        IndicatorType.BONUS: "{}能加几分？",
        IndicatorType.DEDUCTION: "{}扣几分？",
    }
    for kind, template in phrasing.items():
        item = next((i for i in indicators if i.type is kind), None)
        if item is not None:
            examples.append(template.format(item.name))
    return examples


class Conversation:
    """Question answering over the live rulebook."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def renderer(self) -> Renderer:
        """The shared template renderer."""
        return self.services.renderer

    def ask(self, text: str, *, channel: str, asked_by: str = "") -> Reply:
        """Match a question and reply with a card, candidates or the none message.

        The question is logged first; its log id rides in the candidate and 👍/👎 buttons, so
        a pick or a vote, whenever and wherever it comes back, knows what was asked.
        """
        matcher = self.services.matcher()
        if matcher is None:
            return Reply(self.renderer.html("no_rulebook.html.j2"))
        result = matcher.match_question(text)
        (question_id,) = self.record([result], channel=channel, asked_by=asked_by)
        return self.reply_for(result, question_id=question_id)

    def record(
        self, results: Sequence[MatchResult], *, channel: str, asked_by: str = ""
    ) -> list[int]:
        """Log every question for the office's reports; the new log ids, in order."""
        if not results:
            return []
        from db import question_path

        with self.services.connection() as connection:
            return question_path.log_questions(
                connection, results, channel=channel, asked_by=asked_by
            )

    def reply_for(self, result: MatchResult, *, question_id: int | None = None) -> Reply:
        """The rendered reply for a match result (``question_id``: its logged question)."""
        asked = "" if question_id is None else f":{question_id}"
        if result.status is Outcome.ANSWER and result.best is not None:
            return self.card(result.best.code, question_id=question_id)
        if result.status is Outcome.CLARIFY:
            buttons = tuple(
                Button(f"{m.code} {m.name}", f"ind:{m.code}{asked}") for m in result.matches
            )
            return Reply(
                self.renderer.html("clarify.html.j2", matches=result.matches, numbered=False),
                column(buttons),
            )
        from db import question_path

        # an outline, not the whole rulebook: reading 5,000 indicators would cost a fresh
        # process more than loading its matcher
        with self.services.connection() as connection:
            categories, headings = question_path.rulebook_outline(connection)
        return Reply(
            self.renderer.html(
                "none.html.j2", examples=example_questions(headings), categories=categories
            )
        )

    def unanswered(self, limit: int = 15) -> Reply:
        """Open questions grouped, most frequent first, with a button per likely indicator
        that attaches the whole group to it."""
        from bot.learning import unanswered_groups

        total, groups = unanswered_groups(self.services)
        shown = groups[:limit]
        buttons = tuple(
            Button(f"{group.label} 归入 {code}", f"att:{group.label}:{code}")
            for group in shown[:ATTACH_BUTTON_GROUPS]
            for code in group.candidates[:2]
        )
        html = self.renderer.html("unanswered_groups.html.j2", total=total, groups=shown)
        return Reply(html, column(buttons))

    def find(self, code: str) -> tuple[Indicator, bool] | None:
        """An indicator by code (case-insensitive), live or retired, with its active flag.

        From the matcher when this process holds it (the card of an answer costs no query),
        else one row from the database: a fresh process does not read the whole rulebook
        for one card.
        """
        code = code.strip()
        matcher = self.services.loaded_matcher()
        held = matcher.indicator(code) if matcher is not None else None
        if held is not None:
            return held, True
        from db import question_path

        with self.services.connection() as connection:
            return question_path.find_indicator(connection, code)

    def card(
        self, code: str, level: Level | None = None, *, question_id: int | None = None
    ) -> Reply:
        """The indicator card; ``level`` shows one interpretation, else all of them (and FAQ).

        ``question_id`` is the logged question the card answers, carried by its buttons.
        """
        found = self.find(code)
        if found is None:
            raise UserError(f"未找到编码为 {code} 的指标。")
        indicator, active = found
        if level is None:
            interpretations = list(indicator.interpretations)
        else:
            interpretations = [i for i in indicator.interpretations if i.level is level][:1]
        html = self.renderer.html(
            "answer_card.html.j2",
            indicator=indicator,
            retired=not active,
            interpretations=interpretations,
            show_faq=level is None,
        )
        asked = "" if question_id is None else f":{question_id}"
        levels = tuple(
            Button(item.level.value + "解读", f"lvl:{indicator.code}:{item.level.value}{asked}")
            for item in indicator.interpretations
        )
        feedback = tuple(
            Button(label, f"fb:{flag}:{indicator.code}{asked}") for label, flag in FEEDBACK
        )
        return Reply(html, tuple(row for row in (levels, feedback) if row))

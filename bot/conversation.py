"""The conversation both front doors share: question in, rendered reply (with choices) out.

It knows nothing of Telegram or terminals: a reply is HTML plus buttons, and a button is a
label with callback data that comes back through :meth:`Conversation.press`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import escape

from bot.render import Renderer
from bot.services import Services
from db import question_log, rulebook_store
from knowledge.matcher import MatchResult, Outcome
from knowledge.rulebook import Indicator, IndicatorType, Level, Rulebook


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply."""

    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """What to send back: HTML text and optional buttons."""

    html: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    # An indicator card also names its indicator and the buttons that switch between its
    # interpretations, for front doors that can edit a message in place (Telegram).
    indicator: str | None = None
    levels: tuple[Button, ...] = field(default_factory=tuple)


def example_questions(rulebook: Rulebook) -> list[str]:
    """A few questions the rulebook can answer, one per indicator type."""
    examples: list[str] = []
    phrasing = {
        IndicatorType.QUANTITATIVE: "{}怎么计分？",
        IndicatorType.BONUS: "{}能加几分？",
        IndicatorType.DEDUCTION: "{}扣几分？",
    }
    for kind, template in phrasing.items():
        item = next((i for i in rulebook.indicators if i.type is kind), None)
        if item is not None:
            examples.append(template.format(item.name))
    return examples


class Conversation:
    """Question answering over the live rulebook, for one front door (channel)."""

    def __init__(self, services: Services, *, channel: str) -> None:
        self.services = services
        self.channel = channel

    @property
    def renderer(self) -> Renderer:
        """The shared template renderer."""
        return self.services.renderer

    def ask(self, text: str) -> Reply:
        """Match a question and reply with a card, candidates or the none message."""
        matcher = self.services.matcher()
        if matcher is None:
            return Reply(self.renderer.html("no_rulebook.html.j2"))
        result = matcher.match_question(text)
        self.record([result])
        return self.reply_for(result)

    def record(self, results: Sequence[MatchResult], *, asked_by: str = "") -> list[int]:
        """Log every question for the office's reports; the new log ids, in order."""
        if not results:
            return []
        with self.services.session() as session:
            return question_log.log_questions(
                session=session, results=results, channel=self.channel, asked_by=asked_by
            )

    def reply_for(self, result: MatchResult) -> Reply:
        """The rendered reply for a match result."""
        rulebook = self.services.rulebook()
        assert rulebook is not None
        if result.status is Outcome.ANSWER and result.best is not None:
            return self.card(result.best.code)
        if result.status is Outcome.CLARIFY:
            buttons = tuple(Button(f"{m.code} {m.name}", f"ind:{m.code}") for m in result.matches)
            return Reply(
                self.renderer.html("clarify.html.j2", matches=result.matches, numbered=False),
                buttons,
            )
        categories = list(dict.fromkeys(i.category for i in rulebook.indicators if i.category))
        return Reply(
            self.renderer.html(
                "none.html.j2", examples=example_questions(rulebook), categories=categories
            )
        )

    def recent_unanswered(self, limit: int = 20) -> Reply:
        """The latest questions the rulebook could not answer, for the office."""
        with self.services.session() as session:
            rows = question_log.latest_unanswered(session=session, limit=limit)
            recent = [(row.question, row.status) for row in rows]
        return Reply(self.renderer.html("unanswered.html.j2", rows=recent))

    def find(self, code: str) -> tuple[Indicator, bool] | None:
        """An indicator by code, live or retired."""
        with self.services.session() as session:
            return rulebook_store.find_indicator(session=session, code=code.strip())

    def card(self, code: str, level: Level | None = None, *, full: bool = True) -> Reply:
        """The indicator card; ``level`` shows one interpretation, else all of them."""
        found = self.find(code)
        if found is None:
            return Reply(f"未找到编码为 {escape(code)} 的指标。")
        indicator, active = found
        if level is None:
            interpretations = list(indicator.interpretations)
        else:
            text = indicator.interpretation(level)
            interpretations = [i for i in indicator.interpretations if i.level is level][:1]
            if text is None:
                interpretations = []
        html = self.renderer.html(
            "answer_card.html.j2",
            indicator=indicator,
            retired=not active,
            interpretations=interpretations,
            show_faq=full,
        )
        buttons = tuple(
            Button(item.level.value + "解读", f"lvl:{indicator.code}:{item.level.value}")
            for item in indicator.interpretations
        )
        return Reply(
            html, buttons if level is not None else (), indicator=indicator.code, levels=buttons
        )

    def press(self, data: str) -> Reply:
        """Follow a button's callback data."""
        kind, _, rest = data.partition(":")
        if kind == "ind":
            return self.card(rest)
        if kind == "lvl":
            code, _, level = rest.partition(":")
            try:
                return self.card(code, Level(level), full=False)
            except ValueError:
                return Reply("该按钮已失效，请重新提问。")
        return Reply("该按钮已失效，请重新提问。")

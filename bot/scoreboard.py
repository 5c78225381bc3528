"""Points, breakdowns and rankings as replies: the scoring half of the shared conversation.

Like :mod:`bot.conversation` it knows nothing of Telegram: it takes unit codes and period
text, calls :mod:`scoring`, and renders replies with buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from bot.access import Caller, unit_in_view
from bot.conversation import Button, Reply
from bot.render import Renderer
from bot.services import Services
from knowledge.files import InputError
from scoring import entry as ledger
from scoring.compute import LIMIT_TEXT
from scoring.periods import Period, parse_period
from scoring.queries import ScoringError, explain_unit, rank_period

DEFAULT_PERIOD = "本月"


class Scoreboard:
    """A unit's points, why, and its group's ranking, for one front door."""

    def __init__(self, services: Services, *, today: Callable[[], date] = date.today) -> None:
        self.services = services
        self.today = today

    @property
    def renderer(self) -> Renderer:
        """The shared template renderer."""
        return self.services.renderer

    def period(self, text: str | None) -> Period:
        """The period a user wrote (the current month when they wrote none)."""
        return parse_period(text or DEFAULT_PERIOD, today=self.today())

    def unit_and_period(self, caller: Caller, args: Sequence[str]) -> tuple[str | None, str | None]:
        """An admin may name a unit first (``/score NB01 2026-03``); others only a period.

        The unit is None when the caller may not see the one asked for.
        """
        rest = list(args)
        unit: str | None = None
        if caller.is_admin and rest:
            try:
                self.period(rest[0])
            except ValueError:
                unit = rest.pop(0)
        return unit_in_view(caller, unit), " ".join(rest) or None

    def confirm_add(
        self, *, unit: str, indicator: str, points: str, note: str, token: str
    ) -> Reply:
        """The entry as it would be recorded, with confirm and cancel choices.

        A bad number is refused here, before anyone is asked to confirm it; the reply then
        has no buttons and the door keeps nothing pending.
        """
        try:
            value = ledger.check_points(points)
        except InputError as exc:
            return self._problems(exc)
        html = self.renderer.html(
            "confirm_add.html.j2",
            unit=unit,
            indicator=indicator,
            points=format(value, "f"),
            note=note,
        )
        return Reply(
            html, (Button("✅ 确认录入", f"add:ok:{token}"), Button("取消", f"add:no:{token}"))
        )

    def _problem(self, message: str) -> Reply:
        return Reply(self.renderer.html("problem.html.j2", message=message))

    def score(self, unit_code: str, period_text: str | None, *, full: bool = False) -> Reply:
        """The unit's score, its breakdown by indicator, its rank; ``full`` lists entries."""
        try:
            period = self.period(period_text)
        except ValueError as exc:
            return self._problem(str(exc))
        try:
            with self.services.session() as session:
                explanation = explain_unit(
                    session=session, unit=unit_code, period=period, today=self.today()
                )
        except ScoringError as exc:
            return self._problem(str(exc))
        html = self.renderer.html("score.html.j2", x=explanation, limit_text=LIMIT_TEXT, full=full)
        buttons: tuple[Button, ...] = ()
        if not full and explanation.entries:
            buttons = (Button("查看全部明细", f"why:{unit_code}:{period.code}"),)
        return Reply(html, buttons)

    def rank(self, unit_code: str | None, group: str | None, period_text: str | None) -> Reply:
        """The ranking of the unit's group (or ``group``, or all groups), the unit highlighted."""
        try:
            period = self.period(period_text)
        except ValueError as exc:
            return self._problem(str(exc))
        try:
            with self.services.session() as session:
                if unit_code is not None and group is None:
                    group = explain_unit(
                        session=session, unit=unit_code, period=period, today=self.today()
                    ).group.group
                ranking = rank_period(
                    session=session, period=period, today=self.today(), group=group
                )
        except ScoringError as exc:
            return self._problem(str(exc))
        return Reply(self.renderer.html("rank.html.j2", ranking=ranking, mine=unit_code))

    def add(self, *, unit: str, indicator: str, points: str, note: str, entered_by: str) -> Reply:
        """Record one ledger entry dated today."""
        try:
            with self.services.session() as session:
                view = ledger.add_entry(
                    session=session,
                    unit=unit,
                    indicator=indicator,
                    points=points,
                    entry_date=self.today(),
                    note=note,
                    entered_by=entered_by,
                    today=self.today(),
                )
        except InputError as exc:
            return self._problems(exc)
        return Reply(self.renderer.html("entry_added.html.j2", entry=view, reversal=False))

    def reverse(self, *, entry_id: int, note: str, entered_by: str) -> Reply:
        """Reverse one ledger entry."""
        try:
            with self.services.session() as session:
                view = ledger.reverse_entry(
                    session=session, entry_id=entry_id, note=note, entered_by=entered_by
                )
        except InputError as exc:
            return self._problems(exc)
        return Reply(self.renderer.html("entry_added.html.j2", entry=view, reversal=True))

    def _problems(self, exc: InputError) -> Reply:
        return Reply(
            self.renderer.html("problems.html.j2", problems=exc.lines(), headline=exc.headline)
        )

"""Points, breakdowns, rankings and ledger entries: the scoring use cases of the core.

Like :mod:`bot.conversation` it knows nothing of any door: it takes unit codes and period
text, calls :mod:`scoring`, and returns replies; what a user got wrong is a
:class:`~bot.core.errors.UserError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.access import OTHER_UNIT, Caller, unit_in_view
from bot.core.errors import UserError, from_input_error
from bot.core.reply import Button, Reply
from bot.render import Renderer
from bot.services import Services
from db import scoring_store
from db.scoring_store import NewEntry
from knowledge.files import InputError
from knowledge.points import decimal_of
from scoring import entry as ledger
from scoring.compute import LIMIT_TEXT
from scoring.periods import Period, parse_period
from scoring.queries import ScoringError, explain_unit, rank_period

DEFAULT_PERIOD = "本月"


class Scoreboard:
    """A unit's points, why, its group's ranking, and the office's ledger entries."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def renderer(self) -> Renderer:
        """The shared template renderer."""
        return self.services.renderer

    def period(self, text: str | None) -> Period:
        """The period a user wrote (the current month when they wrote none)."""
        try:
            return parse_period(text or DEFAULT_PERIOD, today=self.services.today())
        except ValueError as exc:
            raise UserError(str(exc)) from exc

    def _is_unit(self, text: str) -> bool:
        with self.services.session() as session:
            return scoring_store.get_unit(session=session, code=text.upper()) is not None

    def unit_and_period(
        self, caller: Caller, args: Sequence[str], *, usage: str
    ) -> tuple[str, str | None]:
        """The unit and period of ``/score [UNIT] [PERIOD]``: an admin names any unit, others
        may name only their own (or none); a first word that is neither a period nor a unit
        is read as a period, and explained as one."""
        rest = list(args)
        named: str | None = None
        if rest:
            try:
                self.period(rest[0])
            except UserError:
                if caller.is_admin or self._is_unit(rest[0]):
                    named = rest.pop(0)
        unit = unit_in_view(caller, named)
        if unit is None:
            if named is not None:
                raise UserError(OTHER_UNIT.format(unit=caller.unit_code))
            raise UserError(f"管理员请写明单位，{usage}")
        return unit, " ".join(rest) or None

    def score(self, unit_code: str, period_text: str | None, *, full: bool = False) -> Reply:
        """The unit's score, its breakdown by indicator, its rank; ``full`` lists entries."""
        period = self.period(period_text)
        try:
            with self.services.session() as session:
                explanation = explain_unit(
                    session=session, unit=unit_code, period=period, today=self.services.today()
                )
        except ScoringError as exc:
            raise UserError(str(exc)) from exc
        html = self.renderer.html("score.html.j2", x=explanation, limit_text=LIMIT_TEXT, full=full)
        rows: tuple[tuple[Button, ...], ...] = ()
        if not full and explanation.entries:
            rows = ((Button("查看全部明细", f"why:{unit_code}:{period.code}"),),)
        return Reply(html, rows)

    def rank(self, unit_code: str | None, period_text: str | None) -> Reply:
        """The ranking of the unit's group (all groups for the office), the unit highlighted."""
        period = self.period(period_text)
        today = self.services.today()
        try:
            with self.services.session() as session:
                group = None
                if unit_code is not None:
                    group = explain_unit(
                        session=session, unit=unit_code, period=period, today=today
                    ).group.group
                ranking = rank_period(session=session, period=period, today=today, group=group)
        except ScoringError as exc:
            raise UserError(str(exc)) from exc
        return Reply(self.renderer.html("rank.html.j2", ranking=ranking, mine=unit_code))

    def prepare(self, *, unit: str, indicator: str, points: str, note: str, by: str) -> NewEntry:
        """The entry checked and resolved, not written (what ``/add`` asks to confirm)."""
        today = self.services.today()
        try:
            with self.services.session() as session:
                return ledger.prepare_entry(
                    session=session,
                    unit=unit,
                    indicator=indicator,
                    points=points,
                    entry_date=today,
                    note=note,
                    entered_by=by,
                    today=today,
                )
        except InputError as exc:
            raise from_input_error(exc) from exc

    def confirm_add(self, entry: NewEntry, *, token: str) -> Reply:
        """The entry as it would be recorded, with confirm and cancel choices."""
        html = self.renderer.html(
            "confirm_add.html.j2",
            unit=entry.unit_code,
            indicator=entry.indicator_code,
            points=decimal_of(entry.points_cents),
            note=entry.note,
        )
        return Reply(
            html, ((Button("✅ 确认录入", f"add:ok:{token}"), Button("取消", f"add:no:{token}")),)
        )

    def add(self, *, unit: str, indicator: str, points: str, note: str, by: str) -> Reply:
        """Record one ledger entry dated today, checked again as it is written."""
        entry = self.prepare(unit=unit, indicator=indicator, points=points, note=note, by=by)
        with self.services.session() as session:
            view = ledger.EntryView.of(scoring_store.add_entry(session=session, entry=entry))
        return Reply(self.renderer.html("entry_added.html.j2", entry=view, reversal=False))

    def reverse(self, *, entry_id: int, note: str, by: str) -> Reply:
        """Reverse one ledger entry."""
        try:
            with self.services.session() as session:
                view = ledger.reverse_entry(
                    session=session, entry_id=entry_id, note=note, entered_by=by
                )
        except InputError as exc:
            raise from_input_error(exc) from exc
        return Reply(self.renderer.html("entry_added.html.j2", entry=view, reversal=True))

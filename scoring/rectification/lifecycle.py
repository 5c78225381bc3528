"""Monthly rectification notices (整改通报), door neutral: the run, the follow-up, the answers.

Ranks the month through :mod:`scoring.queries`, renders the notices, stores them and queues
the messages in the outbox (:mod:`db.notices_store`); :mod:`scoring.outbox` sends them
through each channel's transport. The doors (Telegram, WeCom, console, CLI) only call this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import notices_store, outbox_store, scoring_store
from db.models import Notice, utcnow
from db.notices_store import NewNotice
from db.outbox_store import Address, DeliveryKind, delivery_key
from db.session import session_scope
from knowledge.points import cents_of
from knowledge.privacy import mask_personal_data
from scoring.notices import (
    IndicatorText,
    build_notice_content,
    deadline_for,
    flagged_units,
    previous_month,
    run_date_for,
)
from scoring.periods import Period, parse_period
from scoring.queries import Ranking, ScoringError, rank_period
from scoring.rectification.digest import build_digest
from scoring.rectification.followup import (
    queue_escalations,
    queue_late_notices,
    queue_reminders,
)
from scoring.rectification.reports import (
    Digest,
    FollowUpReport,
    NoticeError,
    NoticePolicy,
    NoticeRenderer,
    PlannedNotice,
    RunReport,
    notice_label,
)

logger = logging.getLogger(__name__)

MAX_MEASURES = 2000


class Rectification:
    """The monthly notices: run a month, follow up, answer buttons, report to the office."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        renderer: NoticeRenderer,
        policy: NoticePolicy,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self.renderer = renderer
        self.policy = policy
        self.now = now

    @property
    def engine(self) -> Engine:
        """The database (resolved on first use)."""
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with session_scope(self.engine) as session:
            yield session

    # ------------------------------------------------------------ time

    def local_now(self) -> datetime:
        """Now in the bureau's time zone."""
        return self.now().astimezone(self.policy.zone)

    def today(self) -> date:
        """Today in the bureau's time zone."""
        return self.local_now().date()

    def run_date(self, month: Period) -> date:
        """When ``month``'s notices are due."""
        return run_date_for(month, day=self.policy.notice_day)

    def due_month(self) -> Period | None:
        """The month to run now, if any: its run date and time have come (within the
        catch-up window, for a bot that was down) and it has not run yet."""
        local = self.local_now()
        month = previous_month(local.date())
        run_on = self.run_date(month)
        if run_on > local.date():
            month = month.previous()  # a run moved past the 1st of this month
            run_on = self.run_date(month)
        due = datetime.combine(run_on, self.policy.notice_time, tzinfo=self.policy.zone)
        if not due <= local < due + timedelta(days=self.policy.catch_up_days + 1):
            return None
        with self.session() as session:
            if notices_store.has_run(session=session, month=month.code):
                return None
        return month

    def parse_month(self, text: str) -> Period:
        """A month the user wrote (``2026-10``, ``上月`` …)."""
        try:
            period = parse_period(text, today=self.today())
        except ValueError as exc:
            raise NoticeError(str(exc)) from exc
        if period.code.count("-") != 1 or "Q" in period.code or "H" in period.code:
            raise NoticeError("整改通报按月发布，请写月份，如 2026-10。")
        return period

    def default_month(self) -> Period:
        """The month a digest shows when none is named: the month just ended."""
        return previous_month(self.today())

    # ------------------------------------------------------------ the run

    @contextmanager
    def _unit_of_work(self, dry_run: bool) -> Iterator[Session]:
        if not dry_run:
            with self.session() as session:
                yield session
            return
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()  # a dry run writes nothing, whatever it did meanwhile

    def office(self, session: Session) -> list[Address]:
        """Where the office is reached: the configured recipients, then every bound admin."""
        recipients = list(self.policy.office)
        recipients += notices_store.admin_addresses(session=session)
        return list(dict.fromkeys(recipients))

    def _ranking(self, session: Session, month: Period, today: date) -> Ranking:
        """The month's final ranking; refused while the month runs or when it has no data."""
        if today < month.end:
            last = month.end - timedelta(days=1)
            raise NoticeError(
                f"{month.label}尚未结束（截至 {today.isoformat()}，月末为 {last.isoformat()}），"
                "排名仅为暂定，不发布整改通报。请在月份结束后再发布。"
            )
        try:
            return rank_period(session=session, period=month, today=today)
        except ScoringError as exc:
            raise NoticeError(f"{exc}不发布整改通报。") from exc

    def run_month(self, month: Period, *, source: str, dry_run: bool = False) -> RunReport:
        """Issue ``month``'s notices to every flagged unit (末位 or 预警) and queue them.

        Repeating a run (after a crash, or by hand) creates nothing twice. A dry run reports
        what would be queued and writes nothing. A month not over yet, or without any ledger
        entry, is refused: no notice rests on a provisional or empty ranking.
        """
        now = self.now()
        today = self.today()
        report = RunReport(month=month, dry_run=dry_run)
        with self._unit_of_work(dry_run) as session:
            ranking = self._ranking(session, month, today)
            texts = {
                code: IndicatorText(name, standard)
                for code, (name, standard) in notices_store.indicator_texts(session=session).items()
            }
            report.office = self.office(session)
            for group, unit in flagged_units(ranking.groups):
                notes: dict[str, list[str]] = {}
                for entry in scoring_store.list_entries(
                    session=session, unit_code=unit.unit_code, start=month.start, end=month.end
                ):
                    notes.setdefault(entry.indicator_code, []).append(entry.note)
                content = build_notice_content(
                    month=month,
                    group=group,
                    unit=unit,
                    detail=ranking.scores[unit.unit_code].detail,
                    texts=texts,
                    notes=notes,
                    alert_threshold=ranking.rules.alert_threshold,
                    deadline=deadline_for(today, self.policy.measures_deadline_days),
                )
                text = mask_personal_data(
                    self.renderer.html("notice.html.j2", n=content, reminder=False)
                )
                liaisons = notices_store.liaisons_of(session=session, unit_code=unit.unit_code)
                notice, created = notices_store.create_notice(
                    session=session,
                    notice=NewNotice(
                        unit_code=unit.unit_code,
                        month=month.code,
                        group_name=group.group,
                        score_cents=cents_of(content.score),
                        rank=unit.rank,
                        group_size=len(group.units),
                        content=content.as_json(),
                        text=text,
                        issued_at=now,
                        deadline=content.deadline,
                        recipients=len(liaisons),
                    ),
                )
                assert notice.id is not None
                for to in liaisons:
                    if self.queue_notice(session, notice, to, now):
                        report.queued.append((DeliveryKind.NOTICE.value, to))
                report.notices.append(
                    PlannedNotice(
                        notice_id=notice.id,
                        unit_code=unit.unit_code,
                        unit_name=content.unit_name,
                        group=group.group,
                        score=content.score,
                        rank=unit.rank,
                        group_size=len(group.units),
                        recipients=tuple(liaisons),
                        created=created,
                        text=notice.text,
                    )
                )
            session.flush()
            self._queue_digest(session, month, report, now)
            notices_store.record_run(
                session=session,
                month=month.code,
                source=source,
                notices=len(report.notices),
                now=now,
            )
        return report

    def queue_notice(self, session: Session, notice: Notice, to: Address, now: datetime) -> bool:
        """Queue ``notice`` to one liaison (once, whatever the number of calls)."""
        assert notice.id is not None
        return outbox_store.enqueue(
            session=session,
            dedup_key=delivery_key(DeliveryKind.NOTICE.value, notice.id, to),
            kind=DeliveryKind.NOTICE,
            month=notice.month,
            to=to,
            text=notice.text,
            notice_id=notice.id,
            buttons=True,
            now=now,
        )

    def _queue_digest(
        self, session: Session, month: Period, report: RunReport, now: datetime
    ) -> None:
        digest_html = self.digest_html(build_digest(session, month, self.today()))
        for to in report.office:
            if outbox_store.enqueue(
                session=session,
                dedup_key=delivery_key(DeliveryKind.DIGEST.value, month.code, to),
                kind=DeliveryKind.DIGEST,
                month=month.code,
                to=to,
                text=digest_html,
                now=now,
            ):
                report.queued.append((DeliveryKind.DIGEST.value, to))
        for missing in report.without_liaison:
            logger.warning(
                "unit %s is flagged in %s but has no liaison: reported to the office",
                missing.unit_code,
                month.code,
            )
        if not report.office:
            logger.warning("no office recipient configured: the %s digest goes nowhere", month.code)

    # ------------------------------------------------------------ follow-up

    def follow_up(self) -> FollowUpReport:
        """Open notices to liaisons bound since they were issued; one reminder to those who
        have not acknowledged after the set days (it carries the notice, and so settles an
        uncertain delivery); notices without measures past their deadline escalated to the
        office. Each happens once."""
        report = FollowUpReport()
        with self.session() as session:
            queue_late_notices(self, session, report)
            queue_reminders(self, session, report)
            queue_escalations(self, session, report)
        return report

    def deliver_to_new_liaisons(self) -> list[tuple[int, Address]]:
        """Queue every open notice of a unit to its liaisons who do not have it yet (bound
        after it was issued); the (notice id, address) pairs queued. Safe to call often."""
        report = FollowUpReport()
        with self.session() as session:
            queue_late_notices(self, session, report)
        return report.late_notices

    # ------------------------------------------------------------ the liaison's answers

    def _answerable(
        self, session: Session, notice_id: int, may_answer: Callable[[str], bool]
    ) -> Notice:
        notice = notices_store.get_notice(session=session, notice_id=notice_id)
        if notice is None:
            raise NoticeError("该通报不存在或已被撤回。")
        if not may_answer(notice.unit_code):
            raise NoticeError("抱歉，只有该单位的绩效联络员可以答复此通报。")
        return notice

    def check_answerable(self, notice_id: int, *, may_answer: Callable[[str], bool]) -> str:
        """The notice's label if the caller may answer it (else :class:`NoticeError`).

        ``may_answer(unit_code)`` is the door's permission check (``bot.access``).
        """
        with self.session() as session:
            return notice_label(self._answerable(session, notice_id, may_answer))

    def acknowledge(
        self,
        notice_id: int,
        *,
        user_id: int,
        may_answer: Callable[[str], bool],
        address: Address | None = None,
    ) -> str:
        """已阅: the answer to show the liaison. Pressed from ``address``, it also proves
        that their copy arrived (an uncertain delivery is settled as sent)."""
        now = self.now()
        with self.session() as session:
            notice = self._answerable(session, notice_id, may_answer)
            first = notices_store.acknowledge(
                session=session, notice_id=notice_id, user_id=user_id, now=now
            )
            if address is not None:
                outbox_store.settle_uncertain(
                    session=session, notice_id=notice_id, to=address, now=now
                )
        if first:
            logger.info("notice %s acknowledged by %s", notice_id, user_id)
            return (
                f"已确认阅读{notice_label(notice)}。"
                f"请于 {notice.deadline.isoformat()} 前报送整改措施。"
            )
        return "该通报此前已确认阅读，无需重复操作。"

    def store_measures(
        self,
        notice_id: int,
        text: str,
        *,
        user_id: int,
        may_answer: Callable[[str], bool],
        address: Address | None = None,
    ) -> str:
        """Store the measures a liaison typed; the confirmation (HTML) to send back."""
        measures = text.strip()[:MAX_MEASURES]
        if not measures:
            raise NoticeError("整改措施不能为空，请重新点击“报送整改措施”后输入。")
        now = self.now()
        with self.session() as session:
            notice = self._answerable(session, notice_id, may_answer)
            notices_store.store_measures(
                session=session, notice_id=notice_id, user_id=user_id, measures=measures, now=now
            )
            if address is not None:
                outbox_store.settle_uncertain(
                    session=session, notice_id=notice_id, to=address, now=now
                )
            office_text = mask_personal_data(
                self.renderer.html(
                    "notice_measures.html.j2",
                    label=notice_label(notice),
                    unit_name=notice.content.get("unit_name", notice.unit_code),
                    measures=mask_personal_data(measures),
                )
            )
            stamp = now.strftime("%Y%m%d%H%M%S%f")
            for to in self.office(session):
                outbox_store.enqueue(
                    session=session,
                    dedup_key=delivery_key(DeliveryKind.MEASURES.value, notice_id, to, stamp),
                    kind=DeliveryKind.MEASURES,
                    month=notice.month,
                    to=to,
                    text=office_text,
                    notice_id=notice_id,
                    now=now,
                )
        logger.info("measures stored for notice %s by %s", notice_id, user_id)
        return self.renderer.html(
            "notice_measures_received.html.j2",
            label=notice_label(notice),
            measures=mask_personal_data(measures),
        )

    # ------------------------------------------------------------ the digest

    def digest(self, month: Period) -> Digest:
        """Every notice of ``month``: deliveries, acknowledgements, measures, overdue; and
        whether last month's flagged units left the bottom."""
        with self.session() as session:
            return build_digest(session, month, self.today())

    def digest_html(self, digest: Digest) -> str:
        """The digest as HTML (masked)."""
        return mask_personal_data(self.renderer.html("notices_digest.html.j2", d=digest))

    def digest_plain(self, digest: Digest) -> str:
        """The digest for a terminal."""
        return mask_personal_data(self.renderer.plain("notices_digest.html.j2", d=digest))

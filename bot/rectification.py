"""Monthly rectification notices (整改通报), front-door neutral: the run, follow-up, digest.

Knows nothing of Telegram: it ranks the month through :mod:`scoring`, renders the notices,
stores them and queues the messages in the outbox (:mod:`db.notices_store`). The Telegram
layer (:mod:`bot.telegram.notices`) sends the outbox and handles the buttons; the command
line (:mod:`bot.cli.notices`) runs the same month by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot.core.access import Caller, may_answer_notice
from bot.services import Services
from db import notices_store, scoring_store
from db.models import Notice, utcnow
from db.notices_store import DeliveryKind, DeliveryStatus, NewNotice, aware
from db.session import session_scope
from knowledge.points import cents_of, decimal_of
from scoring.notices import (
    IndicatorText,
    bottom_units,
    build_notice_content,
    deadline_for,
    mask_identifiers,
    previous_month,
    run_date_for,
)
from scoring.periods import Period, parse_period
from scoring.queries import ScoringError, rank_period

logger = logging.getLogger(__name__)

MAX_MEASURES = 2000
UNFINISHED = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
STATUS_LABEL = {
    DeliveryStatus.PENDING.value: "待发送",
    DeliveryStatus.SENDING.value: "发送中",
    DeliveryStatus.SENT.value: "已送达",
    DeliveryStatus.FAILED.value: "发送失败",
    DeliveryStatus.BLOCKED.value: "已屏蔽机器人",
}


@dataclass(frozen=True)
class PlannedNotice:
    """One bottom unit's notice in a run, and who it goes to."""

    notice_id: int
    unit_code: str
    unit_name: str
    group: str
    score: Decimal
    rank: int
    group_size: int
    recipients: tuple[int, ...]
    created: bool  # False when the notice existed before this run
    text: str


@dataclass
class RunReport:
    """What one run of a month did (or, dry, would do)."""

    month: Period
    dry_run: bool
    notices: list[PlannedNotice] = field(default_factory=list)
    office_chats: list[int] = field(default_factory=list)
    queued: list[tuple[str, int]] = field(default_factory=list)  # (kind, chat) newly queued

    @property
    def without_liaison(self) -> list[PlannedNotice]:
        """Bottom units nobody can receive a notice for: reported to the office."""
        return [n for n in self.notices if not n.recipients]


@dataclass(frozen=True)
class Recipient:
    """One liaison's delivery of a notice."""

    chat_id: int
    status: str

    @property
    def label(self) -> str:
        """The status in Chinese."""
        return STATUS_LABEL.get(self.status, self.status)


@dataclass(frozen=True)
class DigestLine:
    """One bottom unit in the office's digest."""

    notice_id: int
    unit_code: str
    unit_name: str
    group: str
    score: Decimal
    rank: int
    group_size: int
    deadline: date
    recipients: tuple[Recipient, ...]
    acknowledged: bool
    measures: bool
    overdue: bool
    reminded: bool
    escalated: bool


@dataclass(frozen=True)
class PreviousLine:
    """Last month's bottom unit, and whether it left the bottom this month."""

    unit_code: str
    unit_name: str
    left_bottom: bool | None  # None when this month cannot be ranked yet


@dataclass(frozen=True)
class Digest:
    """The office's view of a month's notices."""

    month: Period
    today: date
    lines: tuple[DigestLine, ...]
    previous: tuple[PreviousLine, ...]

    def as_json(self) -> dict[str, Any]:
        """The digest as JSON (scores as numbers with two decimals)."""
        return {
            "month": self.month.code,
            "label": self.month.label,
            "today": self.today.isoformat(),
            "notices": [
                {
                    "unit": line.unit_code,
                    "name": line.unit_name,
                    "group": line.group,
                    "score": float(line.score),
                    "rank": line.rank,
                    "group_size": line.group_size,
                    "deadline": line.deadline.isoformat(),
                    "recipients": [
                        {"chat_id": r.chat_id, "status": r.status} for r in line.recipients
                    ],
                    "acknowledged": line.acknowledged,
                    "measures": line.measures,
                    "overdue": line.overdue,
                    "reminded": line.reminded,
                    "escalated": line.escalated,
                }
                for line in self.lines
            ],
            "previous_month": [
                {"unit": p.unit_code, "name": p.unit_name, "left_bottom": p.left_bottom}
                for p in self.previous
            ],
        }


@dataclass
class FollowUpReport:
    """What one follow-up pass queued."""

    reminders: list[int] = field(default_factory=list)  # notice ids
    escalations: list[int] = field(default_factory=list)


class NoticeError(Exception):
    """A request about notices that cannot be served; the message is for the user."""


class Rectification:
    """The monthly notices: run a month, follow up, answer buttons, and report to the office."""

    def __init__(self, services: Services, *, now: Callable[[], datetime] = utcnow) -> None:
        self.services = services
        self.settings = services.settings
        self.now = now

    # ------------------------------------------------------------ time

    def local_now(self) -> datetime:
        """Now in the configured time zone."""
        return self.now().astimezone(self.settings.zone)

    def today(self) -> date:
        """Today in the configured time zone."""
        return self.local_now().date()

    def run_date(self, month: Period) -> date:
        """When ``month``'s notices are due."""
        return run_date_for(month, day=self.settings.notice_day)

    def due_month(self) -> Period | None:
        """The month to run now, if any: its run date and time have come (within the
        catch-up window, for a bot that was down) and it has not run yet."""
        local = self.local_now()
        month = previous_month(local.date())
        run_on = self.run_date(month)
        if run_on > local.date():
            month = month.previous()  # a run moved past the 1st of this month
            run_on = self.run_date(month)
        due = datetime.combine(run_on, self.settings.notice_time, tzinfo=self.settings.zone)
        if not due <= local < due + timedelta(days=self.settings.notice_catch_up_days + 1):
            return None
        with self.services.session() as session:
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

    # ------------------------------------------------------------ the run

    @contextmanager
    def _unit_of_work(self, dry_run: bool) -> Iterator[Session]:
        if not dry_run:
            with session_scope(self.services.engine) as session:
                yield session
            return
        with Session(self.services.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()  # a dry run writes nothing, whatever it did meanwhile

    def office_chats(self, session: Session) -> list[int]:
        """Where the office is reached: the configured chats, then every bound admin."""
        chats = list(self.settings.office_chat_ids)
        chats += notices_store.admin_ids(session=session)
        return list(dict.fromkeys(chats))

    def run_month(self, month: Period, *, source: str, dry_run: bool = False) -> RunReport:
        """Issue ``month``'s notices to every bottom-ranked unit and queue the messages.

        Repeating a run (after a crash, or by hand) creates nothing twice. A dry run reports
        what would be queued and writes nothing.
        """
        now = self.now()
        today = self.today()
        report = RunReport(month=month, dry_run=dry_run)
        with self._unit_of_work(dry_run) as session:
            try:
                ranking = rank_period(session=session, period=month, today=today)
            except ScoringError as exc:
                raise NoticeError(str(exc)) from exc
            texts = {
                code: IndicatorText(name, standard)
                for code, (name, standard) in notices_store.indicator_texts(session=session).items()
            }
            report.office_chats = self.office_chats(session)
            for group, unit in bottom_units(ranking.groups):
                detail = ranking.scores[unit.unit_code].detail
                notes: dict[str, list[str]] = {}
                for entry in scoring_store.list_entries(
                    session=session, unit_code=unit.unit_code, start=month.start, end=month.end
                ):
                    notes.setdefault(entry.indicator_code, []).append(entry.note)
                content = build_notice_content(
                    month=month,
                    group=group,
                    unit=unit,
                    detail=detail,
                    texts=texts,
                    notes=notes,
                    alert_threshold=ranking.rules.alert_threshold,
                    deadline=deadline_for(today, self.settings.measures_deadline_days),
                )
                text = mask_identifiers(
                    self.services.renderer.html("notice.html.j2", n=content, reminder=False)
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
                for chat in liaisons:
                    if notices_store.enqueue(
                        session=session,
                        dedup_key=f"notice:{notice.id}:{chat}",
                        kind=DeliveryKind.NOTICE,
                        month=month.code,
                        chat_id=chat,
                        text=notice.text,
                        notice_id=notice.id,
                        buttons=True,
                        now=now,
                    ):
                        report.queued.append((DeliveryKind.NOTICE.value, chat))
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
            digest_html = self.digest_html(self._digest(session, month))
            for chat in report.office_chats:
                if notices_store.enqueue(
                    session=session,
                    dedup_key=f"digest:{month.code}:{chat}",
                    kind=DeliveryKind.DIGEST,
                    month=month.code,
                    chat_id=chat,
                    text=digest_html,
                    now=now,
                ):
                    report.queued.append((DeliveryKind.DIGEST.value, chat))
            for missing in report.without_liaison:
                logger.warning(
                    "unit %s is bottom-ranked in %s but has no liaison: reported to the office",
                    missing.unit_code,
                    month.code,
                )
            if not report.office_chats:
                logger.warning("no office chat configured: the %s digest goes nowhere", month.code)
            notices_store.record_run(
                session=session,
                month=month.code,
                source=source,
                notices=len(report.notices),
                now=now,
            )
        return report

    # ------------------------------------------------------------ follow-up

    def follow_up(self) -> FollowUpReport:
        """One reminder to liaisons who have not acknowledged after the set days; notices
        without measures past their deadline escalated to the office. Each happens once."""
        now = self.now()
        today = self.today()
        report = FollowUpReport()
        cut = now - timedelta(days=self.settings.ack_reminder_days)
        with self.services.session() as session:
            for notice in notices_store.due_reminders(session=session, issued_before=cut):
                assert notice.id is not None
                deliveries = notices_store.deliveries_for(
                    session=session, notice_ids=[notice.id], kinds=[DeliveryKind.NOTICE]
                )
                if any(d.status in UNFINISHED for d in deliveries):
                    continue  # remind only once the notice itself has gone out
                if not notices_store.mark_followed_up(
                    session=session, notice_id=notice.id, field="reminded_at", now=now
                ):
                    continue
                delivered = [d.chat_id for d in deliveries if d.status == DeliveryStatus.SENT.value]
                text = self.services.renderer.html(
                    "notice_reminder.html.j2",
                    notice=notice,
                    label=_label(notice),
                    issued=aware(notice.issued_at).astimezone(self.settings.zone).date(),
                )
                for chat in delivered:
                    notices_store.enqueue(
                        session=session,
                        dedup_key=f"reminder:{notice.id}:{chat}",
                        kind=DeliveryKind.REMINDER,
                        month=notice.month,
                        chat_id=chat,
                        text=mask_identifiers(text),
                        notice_id=notice.id,
                        buttons=True,
                        now=now,
                    )
                report.reminders.append(notice.id)
            escalations = notices_store.due_escalations(session=session, today=today)
            office = self.office_chats(session) if escalations else []
            for notice in escalations:
                assert notice.id is not None
                if not notices_store.mark_followed_up(
                    session=session, notice_id=notice.id, field="escalated_at", now=now
                ):
                    continue
                text = self.services.renderer.html(
                    "notice_escalation.html.j2",
                    notice=notice,
                    label=_label(notice),
                    unit_name=notice.content.get("unit_name", notice.unit_code),
                    acknowledged=notice.acknowledged_at is not None,
                    overdue_days=(today - notice.deadline).days,
                )
                for chat in office:
                    notices_store.enqueue(
                        session=session,
                        dedup_key=f"escalation:{notice.id}:{chat}",
                        kind=DeliveryKind.ESCALATION,
                        month=notice.month,
                        chat_id=chat,
                        text=mask_identifiers(text),
                        notice_id=notice.id,
                        now=now,
                    )
                report.escalations.append(notice.id)
        return report

    # ------------------------------------------------------------ the liaison's answers

    def _answerable(self, session: Session, notice_id: int, caller: Caller) -> Notice:
        notice = notices_store.get_notice(session=session, notice_id=notice_id)
        if notice is None:
            raise NoticeError("该通报不存在或已被撤回。")
        if not may_answer_notice(caller, notice.unit_code):
            raise NoticeError("抱歉，只有该单位的绩效联络员可以答复此通报。")
        return notice

    def check_answerable(self, notice_id: int, caller: Caller) -> str:
        """The notice's label if ``caller`` may answer it (else :class:`NoticeError`)."""
        with self.services.session() as session:
            return _label(self._answerable(session, notice_id, caller))

    def acknowledge(self, notice_id: int, caller: Caller) -> str:
        """已阅: the answer to show the liaison."""
        assert caller.user_id is not None
        with self.services.session() as session:
            notice = self._answerable(session, notice_id, caller)
            first = notices_store.acknowledge(
                session=session, notice_id=notice_id, user_id=caller.user_id, now=self.now()
            )
        if first:
            logger.info("notice %s acknowledged by %s", notice_id, caller.user_id)
            return (
                f"已确认阅读{_label(notice)}。请于 {notice.deadline.isoformat()} 前报送整改措施。"
            )
        return "该通报此前已确认阅读，无需重复操作。"

    def store_measures(self, notice_id: int, caller: Caller, text: str) -> str:
        """Store the measures a liaison typed; the confirmation (HTML) to send back."""
        assert caller.user_id is not None
        measures = text.strip()[:MAX_MEASURES]
        if not measures:
            raise NoticeError("整改措施不能为空，请重新点击“报送整改措施”后输入。")
        now = self.now()
        with self.services.session() as session:
            notice = self._answerable(session, notice_id, caller)
            notices_store.store_measures(
                session=session,
                notice_id=notice_id,
                user_id=caller.user_id,
                measures=measures,
                now=now,
            )
            office_text = mask_identifiers(
                self.services.renderer.html(
                    "notice_measures.html.j2",
                    label=_label(notice),
                    unit_name=notice.content.get("unit_name", notice.unit_code),
                    measures=mask_identifiers(measures),
                )
            )
            stamp = now.strftime("%Y%m%d%H%M%S%f")
            for chat in self.office_chats(session):
                notices_store.enqueue(
                    session=session,
                    dedup_key=f"measures:{notice_id}:{chat}:{stamp}",
                    kind=DeliveryKind.MEASURES,
                    month=notice.month,
                    chat_id=chat,
                    text=office_text,
                    notice_id=notice_id,
                    now=now,
                )
        logger.info("measures stored for notice %s by %s", notice_id, caller.user_id)
        return self.services.renderer.html(
            "notice_measures_received.html.j2",
            label=_label(notice),
            measures=mask_identifiers(measures),
        )

    # ------------------------------------------------------------ the digest

    def digest(self, month: Period) -> Digest:
        """Every bottom unit of ``month``: deliveries, acknowledgements, measures, overdue;
        and whether last month's bottom units left the bottom."""
        with self.services.session() as session:
            return self._digest(session, month)

    def _digest(self, session: Session, month: Period) -> Digest:
        today = self.today()
        notices = notices_store.notices_for_month(session=session, month=month.code)
        deliveries = notices_store.deliveries_for(
            session=session,
            notice_ids=[n.id for n in notices if n.id is not None],
            kinds=[DeliveryKind.NOTICE],
        )
        by_notice: dict[int, list[Recipient]] = {}
        for delivery in deliveries:
            assert delivery.notice_id is not None
            by_notice.setdefault(delivery.notice_id, []).append(
                Recipient(delivery.chat_id, delivery.status)
            )
        lines = tuple(
            DigestLine(
                notice_id=n.id or 0,
                unit_code=n.unit_code,
                unit_name=str(n.content.get("unit_name", n.unit_code)),
                group=n.group_name,
                score=decimal_of(n.score_cents),
                rank=n.rank,
                group_size=n.group_size,
                deadline=n.deadline,
                recipients=tuple(by_notice.get(n.id or 0, [])),
                acknowledged=n.acknowledged_at is not None,
                measures=n.measures_at is not None,
                overdue=n.measures_at is None and n.deadline < today,
                reminded=n.reminded_at is not None,
                escalated=n.escalated_at is not None,
            )
            for n in notices
        )
        earlier = notices_store.notices_for_month(session=session, month=month.previous().code)
        previous: list[PreviousLine] = []
        if earlier:
            bottom_now: set[str] | None
            try:
                ranking = rank_period(session=session, period=month, today=today)
                bottom_now = {unit.unit_code for _, unit in bottom_units(ranking.groups)}
            except ScoringError:
                bottom_now = None
            for n in earlier:
                previous.append(
                    PreviousLine(
                        unit_code=n.unit_code,
                        unit_name=str(n.content.get("unit_name", n.unit_code)),
                        left_bottom=None if bottom_now is None else n.unit_code not in bottom_now,
                    )
                )
        return Digest(month=month, today=today, lines=lines, previous=tuple(previous))

    def digest_html(self, digest: Digest) -> str:
        """The digest as Telegram HTML (masked)."""
        return mask_identifiers(self.services.renderer.html("notices_digest.html.j2", d=digest))

    def digest_plain(self, digest: Digest) -> str:
        """The digest for a terminal."""
        return mask_identifiers(self.services.renderer.plain("notices_digest.html.j2", d=digest))

    def default_month(self) -> Period:
        """The month a digest shows when none is named: the month just ended."""
        return previous_month(self.today())


def _label(notice: Notice) -> str:
    return f"{notice.content.get('month_label', notice.month)}整改通报"

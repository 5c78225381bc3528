"""The follow-up of issued notices: late-bound liaisons, reminders, escalations.

Each step queues outbox rows under dedup keys and marks the notice once
(``reminded_at``, ``escalated_at``), so running it often, or in two processes, repeats nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from db import notices_store, outbox_store
from db.outbox_store import Address, DeliveryKind, delivery_key
from knowledge.privacy import mask_personal_data
from scoring.rectification.reports import FollowUpReport, notice_label

if TYPE_CHECKING:
    from scoring.rectification.lifecycle import Rectification

logger = logging.getLogger(__name__)

UNFINISHED = tuple(status.value for status in outbox_store.UNFINISHED)
REACHED = tuple(status.value for status in outbox_store.REACHED)


def queue_late_notices(r: Rectification, session: Session, report: FollowUpReport) -> None:
    """Open notices to the liaisons of their unit who do not have them (bound later)."""
    now = r.now()
    notices = notices_store.open_notices(session=session)
    have = notices_store.notice_recipients(
        session=session, notice_ids=[n.id for n in notices if n.id is not None]
    )
    for notice in notices:
        assert notice.id is not None
        for to in notices_store.liaisons_of(session=session, unit_code=notice.unit_code):
            if (notice.id, to) in have:
                continue
            if r.queue_notice(session, notice, to, now):
                logger.info("notice %s queued to %s, bound after it was issued", notice.id, to)
                report.late_notices.append((notice.id, to))


def queue_reminders(r: Rectification, session: Session, report: FollowUpReport) -> None:
    """One reminder per unacknowledged notice past the reminder date, to every copy that may
    have arrived (sent or uncertain)."""
    now = r.now()
    cut = now - timedelta(days=r.policy.ack_reminder_days)
    for notice in notices_store.due_reminders(session=session, issued_before=cut):
        assert notice.id is not None
        deliveries = outbox_store.deliveries_for(
            session=session, notice_ids=[notice.id], kinds=[DeliveryKind.NOTICE]
        )
        if not deliveries or any(d.status in UNFINISHED for d in deliveries):
            continue  # remind only once the notice itself has gone out to someone
        if not notices_store.mark_followed_up(
            session=session, notice_id=notice.id, field="reminded_at", now=now
        ):
            continue
        text = mask_personal_data(
            r.renderer.html(
                "notice_reminder.html.j2",
                notice=notice,
                label=notice_label(notice),
                issued=outbox_store.aware(notice.issued_at).astimezone(r.policy.zone).date(),
            )
        )
        # Sent and uncertain copies alike: the reminder carries the notice, so a liaison
        # whose copy may never have arrived gets it now, once.
        for delivery in deliveries:
            if delivery.status not in REACHED:
                continue
            to = Address(delivery.channel, delivery.address)
            outbox_store.enqueue(
                session=session,
                dedup_key=delivery_key(DeliveryKind.REMINDER.value, notice.id, to),
                kind=DeliveryKind.REMINDER,
                month=notice.month,
                to=to,
                text=text,
                notice_id=notice.id,
                buttons=True,
                now=now,
            )
        report.reminders.append(notice.id)


def queue_escalations(r: Rectification, session: Session, report: FollowUpReport) -> None:
    """Notices without measures past their deadline, to the office, once."""
    now = r.now()
    today = r.today()
    escalations = notices_store.due_escalations(session=session, today=today)
    office = r.office(session) if escalations else []
    for notice in escalations:
        assert notice.id is not None
        if not notices_store.mark_followed_up(
            session=session, notice_id=notice.id, field="escalated_at", now=now
        ):
            continue
        text = r.renderer.html(
            "notice_escalation.html.j2",
            notice=notice,
            label=notice_label(notice),
            unit_name=notice.content.get("unit_name", notice.unit_code),
            acknowledged=notice.acknowledged_at is not None,
            overdue_days=(today - notice.deadline).days,
        )
        for to in office:
            outbox_store.enqueue(
                session=session,
                dedup_key=delivery_key(DeliveryKind.ESCALATION.value, notice.id, to),
                kind=DeliveryKind.ESCALATION,
                month=notice.month,
                to=to,
                text=mask_personal_data(text),
                notice_id=notice.id,
                now=now,
            )
        report.escalations.append(notice.id)

"""The office's digest of a month's notices: deliveries (待确认 included), acknowledgements,
measures, overdue, and whether last month's flagged units left the bottom."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from db import notices_store, outbox_store
from db.outbox_store import Address, DeliveryKind
from knowledge.points import decimal_of
from scoring.notices import flagged_units
from scoring.periods import Period
from scoring.queries import ScoringError, rank_period
from scoring.rectification.reports import Digest, DigestLine, PreviousLine, Recipient


def build_digest(session: Session, month: Period, today: date) -> Digest:
    """Every notice of ``month`` with its deliveries and answers."""
    notices = notices_store.notices_for_month(session=session, month=month.code)
    deliveries = outbox_store.deliveries_for(
        session=session,
        notice_ids=[n.id for n in notices if n.id is not None],
        kinds=[DeliveryKind.NOTICE],
    )
    by_notice: dict[int, list[Recipient]] = {}
    for delivery in deliveries:
        assert delivery.notice_id is not None
        by_notice.setdefault(delivery.notice_id, []).append(
            Recipient(Address(delivery.channel, delivery.address), delivery.status)
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
    return Digest(
        month=month,
        today=today,
        issued=notices_store.has_run(session=session, month=month.code),
        lines=lines,
        previous=_previous(session, month, today),
    )


def _previous(session: Session, month: Period, today: date) -> tuple[PreviousLine, ...]:
    earlier = notices_store.notices_for_month(session=session, month=month.previous().code)
    if not earlier:
        return ()
    flagged_now: set[str] | None
    try:
        if today < month.end:
            raise ScoringError("provisional")  # a month not over yet cannot tell
        ranking = rank_period(session=session, period=month, today=today)
        flagged_now = {unit.unit_code for _, unit in flagged_units(ranking.groups)}
    except ScoringError:
        flagged_now = None
    return tuple(
        PreviousLine(
            unit_code=n.unit_code,
            unit_name=str(n.content.get("unit_name", n.unit_code)),
            left_bottom=None if flagged_now is None else n.unit_code not in flagged_now,
        )
        for n in earlier
    )

"""What the notice lifecycle is configured with and what it reports: the policy, the
renderer it needs, run and follow-up reports, the office's digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from db.models import Notice
from db.outbox_store import Address, DeliveryStatus
from scoring.periods import Period

STATUS_LABEL = {
    DeliveryStatus.PENDING.value: "待发送",
    DeliveryStatus.CLAIMED.value: "待发送",
    DeliveryStatus.SENDING.value: "发送中",
    DeliveryStatus.SENT.value: "已送达",
    DeliveryStatus.FAILED.value: "发送失败",
    DeliveryStatus.BLOCKED.value: "已屏蔽机器人",
    DeliveryStatus.UNCERTAIN.value: "待确认",
}


class NoticeError(Exception):
    """A request about notices that cannot be served; the message is for the user."""


class NoticeRenderer(Protocol):
    """Renders the notice templates (the door's one template environment)."""

    def html(self, template: str, **context: Any) -> str:
        """The template as Telegram-style HTML."""
        ...

    def plain(self, template: str, **context: Any) -> str:
        """The template as plain text."""
        ...


@dataclass(frozen=True)
class NoticePolicy:
    """When notices go out and how they are followed up (from the settings)."""

    zone: ZoneInfo
    notice_day: int = 1
    notice_time: time = time(9, 0)
    measures_deadline_days: int = 10
    ack_reminder_days: float = 3
    catch_up_days: int = 3
    office: tuple[Address, ...] = ()  # configured office recipients; bound admins join them


@dataclass(frozen=True)
class PlannedNotice:
    """One flagged unit's notice in a run, and who it goes to."""

    notice_id: int
    unit_code: str
    unit_name: str
    group: str
    score: Decimal
    rank: int
    group_size: int
    recipients: tuple[Address, ...]
    created: bool  # False when the notice existed before this run
    text: str


@dataclass
class RunReport:
    """What one run of a month did (or, dry, would do)."""

    month: Period
    dry_run: bool
    notices: list[PlannedNotice] = field(default_factory=list)
    office: list[Address] = field(default_factory=list)
    queued: list[tuple[str, Address]] = field(default_factory=list)  # (kind, to) newly queued

    @property
    def without_liaison(self) -> list[PlannedNotice]:
        """Flagged units nobody can receive a notice for: reported to the office."""
        return [n for n in self.notices if not n.recipients]


@dataclass(frozen=True)
class Recipient:
    """One liaison's delivery of a notice."""

    address: Address
    status: str

    @property
    def label(self) -> str:
        """The status in Chinese."""
        return STATUS_LABEL.get(self.status, self.status)

    @property
    def uncertain(self) -> bool:
        """Whether nobody knows if it arrived (待确认)."""
        return self.status == DeliveryStatus.UNCERTAIN.value


@dataclass(frozen=True)
class DigestLine:
    """One flagged unit in the office's digest."""

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

    @property
    def uncertain(self) -> bool:
        """Some copy's fate is unknown and nobody has acknowledged yet."""
        return not self.acknowledged and any(r.uncertain for r in self.recipients)


@dataclass(frozen=True)
class PreviousLine:
    """Last month's flagged unit, and whether it left the bottom this month."""

    unit_code: str
    unit_name: str
    left_bottom: bool | None  # None when this month cannot be ranked yet


@dataclass(frozen=True)
class Digest:
    """The office's view of a month's notices."""

    month: Period
    today: date
    issued: bool  # whether the month's notices were ever issued (run)
    lines: tuple[DigestLine, ...]
    previous: tuple[PreviousLine, ...]

    @property
    def uncertain(self) -> int:
        """Copies whose fate is unknown (待确认)."""
        return sum(1 for line in self.lines for r in line.recipients if r.uncertain)

    def as_json(self) -> dict[str, Any]:
        """The digest as JSON (scores as numbers with two decimals)."""
        return {
            "month": self.month.code,
            "label": self.month.label,
            "today": self.today.isoformat(),
            "issued": self.issued,
            "uncertain": self.uncertain,
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
                        {
                            "channel": r.address.channel,
                            "address": r.address.address,
                            "status": r.status,
                        }
                        for r in line.recipients
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
    late_notices: list[tuple[int, Address]] = field(default_factory=list)  # new liaisons


def notice_label(notice: Notice) -> str:
    """``2026年10月整改通报``."""
    return f"{notice.content.get('month_label', notice.month)}整改通报"

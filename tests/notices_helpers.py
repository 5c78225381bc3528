"""Shared set-up for the rectification-notice tests: a seeded month, liaisons, a clock and
a fake bot whose answers a test chooses per chat."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import Bot

from bot.services import Services
from bot.settings import Settings
from bot.telegram.transport import TelegramTransport
from db import users_store
from db.models import NoticeDelivery
from db.users_store import Role
from scoring import entry
from scoring.outbox import OutboxSender, SendLimiter
from scoring.periods import Period
from scoring.rectification import Rectification
from tests.telegram_helpers import TOKEN, seed

MONTH = Period.month(2026, 2)
RUN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai on the run date
LIAISON_NB03, LIAISON2_NB03, LIAISON_GS01 = 8103, 8104, 8201
ADMIN = 8900
OFFICE_CHAT = -100777
ID_NUMBER = "32050619900101123X"
PHONE = "138-1234-5678"
ADDRESS = "苏州市吴中区东吴北路88号3栋201室"


def notice_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for fast tests: no pacing to speak of, short back-off."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "telegram_token": TOKEN,
        "office_chat_ids": [OFFICE_CHAT],
        "send_rate_per_second": 30,
        "send_per_chat_interval": 0.0,
        "send_backoff_seconds": 0.01,
        "send_lease_seconds": 30,
        **overrides,
    }
    return Settings(**values)


def seed_month(services: Services, *, liaisons: bool = True, admin: bool = False) -> None:
    """February 2026: NB03 bottom of 派出机构 (97), GS01 alone and below the alert (82)."""
    seed(services)
    today = date(2026, 3, 20)
    rows = (
        ("NB01", "JF-01", "1", "市局通报表扬"),
        ("NB03", "DL-01", "3", f"申报逾期，纳税人身份证{ID_NUMBER}，电话{PHONE}"),
        ("GS01", "DL-01", "10", f"住址{ADDRESS}的纳税人投诉"),
        ("GS01", "DL-04", "8", "考核不达标"),
    )
    with services.session() as session:
        for unit, indicator, points, note in rows:
            entry.add_entry(
                session=session,
                unit=unit,
                indicator=indicator,
                points=points,
                entry_date=date(2026, 2, 10),
                note=note,
                entered_by="test",
                today=today,
            )
        if liaisons:
            for user, unit in (
                (LIAISON_NB03, "NB03"),
                (LIAISON2_NB03, "NB03"),
                (LIAISON_GS01, "GS01"),
            ):
                users_store.bind_user(
                    session=session, telegram_id=user, role=Role.LIAISON, unit_code=unit
                )
        if admin:
            users_store.bind_user(session=session, telegram_id=ADMIN, role=Role.ADMIN)


@dataclass
class Clock:
    """A clock a test moves by hand."""

    now: datetime = RUN_AT

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward."""
        self.now += timedelta(**delta)


class Crash(BaseException):
    """The process dies (not an error any handler catches)."""


@dataclass
class FakeBot:
    """Stands in for ``telegram.Bot.send_message``: records what went out, and raises what
    a test queued for a chat (``errors[chat]``) or a :class:`Crash` after ``crash_after``."""

    errors: dict[int, list[BaseException]] = field(default_factory=dict)
    crash_after: int | None = None
    sent: list[tuple[int, str, Any]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        """Send, fail or crash."""
        queued = self.errors.get(chat_id)
        if queued:
            raise queued.pop(0)
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            raise Crash
        self.sent.append((chat_id, text, kwargs.get("reply_markup")))
        return SimpleNamespace(message_id=next(self.ids))

    def chats(self) -> list[int]:
        """The chats messages went to, in order."""
        return [chat for chat, _, _ in self.sent]


def statuses(services: Services, kinds: Iterable[str] = ("notice",)) -> dict[int, str]:
    """chat id → delivery status of the outbox rows of some kinds."""
    with Session(services.engine) as session:
        rows = session.exec(select(NoticeDelivery).where(col(NoticeDelivery.kind).in_(list(kinds))))
        return {int(row.address): row.status for row in rows}


def outbox(
    bot: object,
    services: Services,
    *,
    engine: Engine | None = None,
    rate: float | None = None,
    **options: Any,
) -> OutboxSender:
    """The outbox sender the bot builds, over a fake or loopback bot."""
    limiters = {"telegram": SendLimiter(rate, 0.0)} if rate is not None else None
    return OutboxSender(
        engine or services.engine,
        [TelegramTransport(cast(Bot, bot))],
        services.outbox_policy(),
        limiters=limiters,
        **options,
    )


def lifecycle(services: Services, now: Callable[[], datetime]) -> Rectification:
    """The notice lifecycle over ``services`` on a test's clock."""
    return Rectification(
        lambda: services.engine, services.renderer, services.notice_policy(), now=now
    )

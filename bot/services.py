"""The composition root: settings in, long-lived services out. Every front door starts here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.render import Renderer
from bot.settings import Settings
from db import rulebook_store
from db.schema import ensure_schema
from db.session import make_engine, session_scope
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.rulebook import Rulebook

if TYPE_CHECKING:  # built on demand: commands without notices do not import them
    from scoring.outbox import OutboxPolicy
    from scoring.rectification import NoticePolicy, Rectification


class Services:
    """Lazily built, shared services: the database, the live rulebook and its matcher."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._rulebook: Rulebook | None = None
        self._matcher: Matcher | None = None

    @cached_property
    def engine(self) -> Engine:
        """The database engine; an empty database gets the schema on first use."""
        engine = make_engine(self.settings.database_url)
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()  # a refused database must not keep connections open
            raise
        return engine

    def today(self) -> date:
        """Today's date where the bureau is (``KPIBOT_TIMEZONE``), not where the server is."""
        return datetime.now(self.settings.zone).date()

    @cached_property
    def renderer(self) -> Renderer:
        """The reply templates."""
        return Renderer()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with session_scope(self.engine) as session:
            yield session

    def rulebook(self) -> Rulebook | None:
        """The live rulebook, cached until :meth:`reload`."""
        if self._rulebook is None:
            with self.session() as session:
                self._rulebook = rulebook_store.load_rulebook(session=session)
        return self._rulebook

    def matcher(self) -> Matcher | None:
        """The matcher over the live rulebook, built once."""
        if self._matcher is None:
            rulebook = self.rulebook()
            if rulebook is None:
                return None
            self._matcher = Matcher(
                rulebook.indicators,
                MatcherConfig(max_question_chars=self.settings.max_question_chars),
            )
        return self._matcher

    def notice_policy(self) -> NoticePolicy:
        """When notices go out and who in the office hears of them."""
        from db.notices_store import telegram_address
        from scoring.rectification import NoticePolicy

        settings = self.settings
        return NoticePolicy(
            zone=settings.zone,
            notice_day=settings.notice_day,
            notice_time=settings.notice_time,
            measures_deadline_days=settings.measures_deadline_days,
            ack_reminder_days=settings.ack_reminder_days,
            catch_up_days=settings.notice_catch_up_days,
            office=tuple(telegram_address(chat) for chat in settings.office_chat_ids),
        )

    def outbox_policy(self) -> OutboxPolicy:
        """How the outbox paces, leases and retries."""
        from scoring.outbox import OutboxPolicy

        settings = self.settings
        return OutboxPolicy(
            rate_per_second=settings.send_rate_per_second,
            per_recipient_interval=settings.send_per_chat_interval,
            lease_seconds=settings.send_lease_seconds,
            max_attempts=settings.send_max_attempts,
            backoff_seconds=settings.send_backoff_seconds,
        )

    def rectification(self, *, now: Callable[[], datetime] | None = None) -> Rectification:
        """The notice lifecycle over these services (``now``: a test's or a CLI's clock)."""
        from db.models import utcnow
        from scoring.rectification import Rectification

        return Rectification(
            lambda: self.engine, self.renderer, self.notice_policy(), now=now or utcnow
        )

    def reload(self) -> None:
        """Forget the cached rulebook and matcher after an import."""
        self._rulebook = None
        self._matcher = None

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()

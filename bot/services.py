"""The composition root: settings in, every long-lived service out, built once.

The bot (:mod:`bot.telegram.app`), the console (:mod:`bot.console`) and the CLI
(:mod:`bot.cli`) all start from one :class:`Services`: the settings, the bureau-local clock,
the database engine, the reply renderer, the rulebook and matcher cache, and the use-case
objects (conversation, scoreboard, membership, uploads, notices) with the dispatcher over
them. Each is built on first use, and its module imported then, so a command pays only for
what it touches (``kpibot --help`` imports no SQLAlchemy; ``kpibot ask`` imports no Telegram,
and no ORM: the question path reads and writes through :meth:`Services.connection`, in
SQLAlchemy Core, see :mod:`db.question_path`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

    from bot.conversation import Conversation
    from bot.core.dispatcher import Dispatcher
    from bot.membership import Membership
    from bot.render import Renderer
    from bot.scoreboard import Scoreboard
    from bot.uploads import Uploads
    from knowledge.matcher import Matcher
    from knowledge.rulebook import Rulebook
    from scoring.outbox import OutboxPolicy
    from scoring.rectification import NoticePolicy, Rectification


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """Now (UTC) and today where the bureau is (``KPIBOT_TIMEZONE``), never the server's.

    Tests pin ``now`` (and, for scoring, ``today``) here, in one place.
    """

    zone: ZoneInfo
    utc_now: Callable[[], datetime] = utc_now
    pinned_today: Callable[[], date] | None = None

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return self.utc_now()

    def today(self) -> date:
        """Today's date in the bureau's time zone."""
        if self.pinned_today is not None:
            return self.pinned_today()
        return self.utc_now().astimezone(self.zone).date()


class Services:
    """Lazily built, shared services for every door."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.zone)
        self._rulebook: Rulebook | None = None
        self._matcher: Matcher | None = None
        self._stamp: tuple[object, ...] | None = None
        self._stamp_checked = 0.0

    def use_clock(self, clock: Clock) -> None:
        """Run on another clock (``kpibot remind --today``); only before the use cases are
        built, which keep the clock they were built with."""
        if "rectification" in self.__dict__:
            raise RuntimeError("the clock is set before the notices are built")
        self.clock = clock

    # ------------------------------------------------------------ infrastructure

    @cached_property
    def engine(self) -> Engine:
        """The database engine; an empty database gets the schema on first use."""
        from db.schema import ensure_schema
        from db.session import make_engine

        engine = make_engine(self.settings.database_url)
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()  # a refused database must not keep connections open
            raise
        return engine

    def today(self) -> date:
        """Today's date where the bureau is."""
        return self.clock.today()

    def now(self) -> datetime:
        """The current time (UTC)."""
        return self.clock.now()

    @cached_property
    def renderer(self) -> Renderer:
        """The reply templates."""
        from bot.render import Renderer

        return Renderer()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        from db.session import session_scope

        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A unit of work in SQLAlchemy Core, for the question path (:mod:`db.question_path`),
        which needs no ORM: committed on success, rolled back on error."""
        with self.engine.begin() as connection:
            yield connection

    # ------------------------------------------------------------ the rulebook cache

    def rulebook(self) -> Rulebook | None:
        """The live rulebook, cached until :meth:`reload`."""
        if self._rulebook is None:
            from db import question_path

            with self.connection() as connection:
                self._rulebook = question_path.load_rulebook(connection)
        return self._rulebook

    def _reload_if_changed_elsewhere(self) -> None:
        """Reload when another process (``kpibot questions attach``, an import) changed what
        the matcher knows; checked at most every ``learning_refresh_seconds``."""
        now = time.monotonic()
        if self._stamp is not None and (
            now - self._stamp_checked < self.settings.learning_refresh_seconds
        ):
            return
        self._stamp_checked = now
        from db import question_path

        with self.connection() as connection:
            stamp = question_path.learning_stamp(connection)
        if self._stamp is not None and stamp != self._stamp:
            self.reload()
        self._stamp = stamp

    def matcher(self) -> Matcher | None:
        """The prepared matcher of the live rulebook, its office synonyms and learned phrasings:
        loaded from the shared cache, or built and calibrated once (concurrent processes build
        it once). The phrasings are part of the cache key, so a lesson is used at once."""
        self._reload_if_changed_elsewhere()
        if self._matcher is None:
            self._matcher = self._prepared_matcher()
        return self._matcher

    def loaded_matcher(self) -> Matcher | None:
        """The matcher if this process has it in memory already (never loads or builds one)."""
        return self._matcher

    def _prepared_matcher(self) -> Matcher | None:
        """The cache file is named from the database without reading the indicators (at
        5,000 indicators that read costs more than loading the file); they are read only
        when the file has to be built. SQLAlchemy Core only (:mod:`db.question_path`)."""
        from db import question_path
        from knowledge.index_cache import cached_matcher, load_cached, matcher_key
        from knowledge.learned import learned_by_code
        from knowledge.matcher import MatcherConfig

        config = MatcherConfig(max_question_chars=self.settings.max_question_chars)
        cache = self.settings.matcher_cache
        while True:
            with self.connection() as connection:
                version = question_path.live_version(connection)
                if version is None:
                    return None
                synonyms = question_path.office_synonyms(connection)
                learned = learned_by_code(question_path.learned_phrasings(connection))
            key = matcher_key(version, config, synonyms=synonyms, learned=learned)
            found = load_cached(cache, key, config, learned=learned)
            if found is not None:
                return found
            with self.connection() as connection:
                rulebook = question_path.load_rulebook(connection)
                unchanged = question_path.live_version(connection) == version
            # An import that landed in between would put its indicators under this key:
            # start again with the new version.
            if rulebook is not None and unchanged:
                break
        self._rulebook = rulebook
        return cached_matcher(
            rulebook.indicators, cache, config, key=key, synonyms=synonyms, learned=learned
        )

    def notice_policy(self) -> NoticePolicy:
        """When notices go out and who in the office hears of them."""
        from db.outbox_store import telegram_address
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

    def reload(self) -> None:
        """Forget the cached rulebook and matcher after an import or anything learned."""
        self._rulebook = None
        self._matcher = None
        self._stamp = None  # taken again before the next build

    # ------------------------------------------------------------ use cases

    @cached_property
    def conversation(self) -> Conversation:
        """Questions and indicator cards."""
        from bot.conversation import Conversation

        return Conversation(self)

    @cached_property
    def scoreboard(self) -> Scoreboard:
        """Scores, breakdowns, rankings and ledger entries."""
        from bot.scoreboard import Scoreboard

        return Scoreboard(self)

    @cached_property
    def membership(self) -> Membership:
        """Who a caller is, invites and binding."""
        from bot.membership import Membership

        return Membership(self)

    @cached_property
    def uploads(self) -> Uploads:
        """File imports (rulebook, units, ledger, reviews)."""
        from bot.uploads import Uploads

        return Uploads(self)

    @cached_property
    def rectification(self) -> Rectification:
        """The notice lifecycle (:mod:`scoring.rectification`) on this clock."""
        from scoring.rectification import Rectification

        return Rectification(
            lambda: self.engine, self.renderer, self.notice_policy(), now=self.clock.now
        )

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """The one entry of every door."""
        from bot.core.dispatcher import Dispatcher

        return Dispatcher(self)

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()

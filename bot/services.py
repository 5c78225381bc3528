"""The composition root: settings in, long-lived services out. Every front door starts here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.render import Renderer
from bot.settings import Settings
from db import learning_store, rulebook_store
from db.schema import ensure_schema
from db.session import make_engine, session_scope
from knowledge.learned import learned_by_code, learned_of
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.rulebook import Rulebook
from knowledge.synonyms import synonyms_of


class Services:
    """Lazily built, shared services: the database, the live rulebook and its matcher."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._rulebook: Rulebook | None = None
        self._matcher: Matcher | None = None
        self._stamp: tuple[object, ...] | None = None
        self._stamp_checked = 0.0

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

    def _reload_if_changed_elsewhere(self) -> None:
        """Reload when another process (``kpibot questions attach``, an import) changed what
        the matcher knows; checked at most every ``learning_refresh_seconds``."""
        now = time.monotonic()
        if self._stamp is not None and (
            now - self._stamp_checked < self.settings.learning_refresh_seconds
        ):
            return
        self._stamp_checked = now
        with self.session() as session:
            stamp = learning_store.learning_stamp(session=session)
        if self._stamp is not None and stamp != self._stamp:
            self.reload()
        self._stamp = stamp

    def matcher(self) -> Matcher | None:
        """The matcher over the live rulebook, built once and rebuilt when it learned."""
        self._reload_if_changed_elsewhere()
        if self._matcher is None:
            rulebook = self.rulebook()
            if rulebook is None:
                return None
            # The office synonyms and learned phrasings ride in the live rulebook (see
            # db.rulebook_store.load_rulebook), so they take effect with the next reload.
            self._matcher = Matcher(
                rulebook.indicators,
                MatcherConfig(max_question_chars=self.settings.max_question_chars),
                synonyms=synonyms_of(rulebook),
                learned=learned_by_code(learned_of(rulebook)),
            )
        return self._matcher

    def reload(self) -> None:
        """Forget the cached rulebook and matcher after an import or anything learned."""
        self._rulebook = None
        self._matcher = None
        self._stamp = None  # taken again before the next build

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()

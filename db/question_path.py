"""What answering a question reads and writes, in SQLAlchemy Core on the clauses of
:mod:`db.tables`: the live rulebook, the stamp that tells when it changed, and the question log.

Every door asks through these functions (via :class:`bot.services.Services`), and the
session-based functions of :mod:`db.rulebook_store` and :mod:`db.learning_store` that return
the same things call them too, so there is one reading of the live rulebook. None of them
imports the ORM: a ``kpibot ask`` process pays for SQLAlchemy Core only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, insert, select

from db.tables import (
    indicator,
    learned_phrasing,
    office_synonym,
    question_log,
    rulebook_version,
    utcnow,
)
from knowledge.learned import LearnedPhrasing, LearnedSource, with_learned
from knowledge.points import points_of
from knowledge.rulebook import (
    Cycle,
    Faq,
    Indicator,
    IndicatorHeading,
    IndicatorType,
    Interpretation,
    Level,
    Rulebook,
)
from knowledge.rulebook_files import parse_rulebook_header
from knowledge.synonyms import OfficeSynonym, with_synonyms

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from knowledge.matcher import MatchResult

MAX_LOGGED_CHARS = 500


class IndicatorColumns(Protocol):
    """The columns of an ``indicator`` row (a Core row, or an ORM ``IndicatorRecord``)."""

    code: str
    name: str
    type: str
    category: str
    points_cents: int
    cap_cents: int | None
    owner: str
    cycle: str | None
    standard: str
    aliases: list[str]
    interpretations: list[dict[str, str]]
    faq: list[dict[str, str]]


def indicator_from_record(record: IndicatorColumns) -> Indicator:
    """The domain indicator stored in a row."""
    return Indicator(
        code=record.code,
        name=record.name,
        type=IndicatorType(record.type),
        points=points_of(record.points_cents),
        category=record.category,
        cap=points_of(record.cap_cents) if record.cap_cents is not None else None,
        owner=record.owner,
        cycle=Cycle(record.cycle) if record.cycle else None,
        standard=record.standard,
        aliases=tuple(record.aliases),
        interpretations=tuple(
            Interpretation(Level(i["level"]), i["text"]) for i in record.interpretations
        ),
        faq=tuple(Faq(f["q"], f["a"]) for f in record.faq),
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def learned_phrasings(connection: Connection) -> list[LearnedPhrasing]:
    """Every learned phrasing, oldest first."""
    rows = connection.execute(select(learned_phrasing).order_by(learned_phrasing.c.id))
    return [
        LearnedPhrasing(
            code=row.indicator_code,
            question=row.question,
            source=LearnedSource(row.source),
            by=row.learned_by,
            at=_iso(row.learned_at),
        )
        for row in rows
    ]


def office_synonyms(connection: Connection) -> list[OfficeSynonym]:
    """The office synonym table, oldest entry first."""
    rows = connection.execute(
        select(office_synonym.c.word, office_synonym.c.term).order_by(office_synonym.c.id)
    )
    return [OfficeSynonym(row.word, row.term) for row in rows]


def load_rulebook(connection: Connection, *, include_retired: bool = False) -> Rulebook | None:
    """The live rulebook: title, year and scoring of the latest import, its active indicators
    (or all, with ``include_retired``), and every learned phrasing and office synonym."""
    version = connection.execute(
        select(rulebook_version.c.document, rulebook_version.c.source)
        .order_by(rulebook_version.c.id.desc())
        .limit(1)
    ).first()
    if version is None:
        return None
    statement = select(indicator).order_by(indicator.c.position)
    if not include_retired:
        statement = statement.where(indicator.c.active.is_(True))
    records: Sequence[Any] = connection.execute(statement).all()
    stored = parse_rulebook_header(version.document, source=version.source)
    live = Rulebook(
        title=stored.title,
        year=stored.year,
        indicators=tuple(indicator_from_record(r) for r in records),
        scoring=stored.scoring,
        extra=stored.extra,
    )
    return with_synonyms(
        with_learned(live, learned_phrasings(connection)), office_synonyms(connection)
    )


def live_version(connection: Connection) -> str | None:
    """Names the live indicators without reading them: the hash of the latest import.

    Only an import changes the indicators, and the document it stores (its rulebook, minus
    learned phrasings and synonyms, which outlive versions) holds exactly the indicators it
    made live, in order. The same rulebook imported again has the same name.
    """
    statement = select(rulebook_version.c.sha256).order_by(rulebook_version.c.id.desc()).limit(1)
    found: str | None = connection.execute(statement).scalar()
    return found


def find_indicator(connection: Connection, code: str) -> tuple[Indicator, bool] | None:
    """An indicator by code (case-insensitive), retired or not, with its active flag."""
    row = connection.execute(select(indicator).where(indicator.c.code == code)).first()
    if row is None:
        row = connection.execute(
            select(indicator).where(indicator.c.code.ilike(code)).limit(1)
        ).first()
    if row is None:
        return None
    return indicator_from_record(row), bool(row.active)


def rulebook_outline(connection: Connection) -> tuple[list[str], list[IndicatorHeading]]:
    """The live rulebook's categories, in order of first appearance, and its first indicator
    of each type; a few small queries, not a read of every indicator."""
    active = indicator.c.active.is_(True)
    first = func.min(indicator.c.position)
    categories = connection.execute(
        select(indicator.c.category, first)
        .where(active, indicator.c.category != "")
        .group_by(indicator.c.category)
        .order_by(first)
    )
    headings: list[IndicatorHeading] = []
    for kind in IndicatorType:
        found = connection.execute(
            select(indicator.c.code, indicator.c.name, indicator.c.category)
            .where(active, indicator.c.type == kind.value)
            .order_by(indicator.c.position)
            .limit(1)
        ).first()
        if found is not None:
            headings.append(IndicatorHeading(found.code, found.name, kind, found.category))
    return [row[0] for row in categories], headings


def learning_stamp(connection: Connection) -> tuple[tuple[object, ...], ...]:
    """Changes whenever the rulebook, a phrasing or a synonym changes (ids only grow)."""
    parts = []
    for table in (rulebook_version, learned_phrasing, office_synonym):
        identity = table.c.id
        count, highest = connection.execute(select(func.count(identity), func.max(identity))).one()
        parts.append((count, highest))
    return tuple(parts)


def log_questions(
    connection: Connection, results: Sequence[MatchResult], *, channel: str, asked_by: str = ""
) -> list[int]:
    """Record every result; return the new rows' ids in the order of ``results``."""
    from knowledge.matcher import Outcome  # loaded already: the results come from it

    if not results:
        return []
    rows = [
        {
            "asked_at": utcnow(),
            "question": result.question[:MAX_LOGGED_CHARS],
            "normalized": result.normalized[:MAX_LOGGED_CHARS],
            "status": result.status.value,
            "candidates": [m.code for m in result.matches],
            "channel": channel,
            "asked_by": asked_by,
            "indicator_code": (
                result.best.code
                if result.status is Outcome.ANSWER and result.best is not None
                else None
            ),
            "resolved_code": None,
        }
        for result in results
    ]
    statement = insert(question_log).returning(question_log.c.id, sort_by_parameter_order=True)
    return [row.id for row in connection.execute(statement, rows)]

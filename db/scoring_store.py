"""Data access for units, the points ledger and year-end reviews.

The ledger is append-only: this module inserts entries and never updates or deletes one.
Period totals are computed by the database (``SUM`` of integer hundredths ``GROUP BY``
unit and indicator over a date range, read from a covering index), never by loading the
ledger into Python.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Table, cast, func, insert, text
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from db.models import IndicatorRecord, LedgerEntry, Review, RulebookVersion, Unit, utcnow

INSERT_CHUNK = 5000
LOOKUP_CHUNK = 900  # below SQLite's historical 999 bound-parameter limit
ARRAY_CHUNK = 10_000  # external ids per PostgreSQL array lookup
BULK_CACHE_KIB = 256 * 1024  # SQLite page cache while bulk inserting
ANALYZE_AFTER = 10_000  # PostgreSQL: refresh the ledger's statistics after a batch this big


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitInfo:
    """A unit as the scoring code sees it."""

    code: str
    name: str
    group: str


@dataclass
class UnitUpsert:
    """What a units import changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def list_units(*, session: Session, group: str | None = None) -> list[UnitInfo]:
    """Units ordered by code, optionally of one group."""
    statement = select(Unit.code, Unit.name, Unit.group_name).order_by(col(Unit.code))
    if group is not None:
        statement = statement.where(col(Unit.group_name) == group)
    return [UnitInfo(code, name, group_name) for code, name, group_name in session.exec(statement)]


def get_unit(*, session: Session, code: str) -> UnitInfo | None:
    """A unit by its exact code."""
    record = session.get(Unit, code)
    return UnitInfo(record.code, record.name, record.group_name) if record else None


def count_units(*, session: Session) -> int:
    """How many units there are."""
    return int(session.exec(select(func.count()).select_from(Unit)).one())


def upsert_units(*, session: Session, units: Sequence[UnitInfo]) -> UnitUpsert:
    """Add new units and update names and groups of known ones; none is ever deleted."""
    existing = {u.code: u for u in session.exec(select(Unit))} if units else {}
    result = UnitUpsert()
    now = utcnow()
    for info in units:
        record = existing.get(info.code)
        if record is None:
            session.add(Unit(code=info.code, name=info.name, group_name=info.group))
            result.added.append(info.code)
        elif record.name != info.name or record.group_name != info.group:
            record.name = info.name
            record.group_name = info.group
            record.updated_at = now
            session.add(record)
            result.updated.append(info.code)
        else:
            result.unchanged.append(info.code)
    session.flush()
    return result


# ---------------------------------------------------------------- ledger


class NewEntry(NamedTuple):
    """A validated ledger entry, before it is recorded.

    A named tuple, not a dataclass: imports build a million of these, and its field order
    is the column order of the bulk insert.
    """

    entry_date: date
    unit_code: str
    indicator_code: str
    points_cents: int
    entered_by: str
    note: str = ""
    source: str = ""
    external_id: str | None = None
    reverses_id: int | None = None


def existing_external_ids(*, session: Session, external_ids: Collection[str]) -> set[str]:
    """The external ids among ``external_ids`` that the ledger already holds.

    Chunked lookups on the unique index: ``= ANY(array)`` on PostgreSQL, ``IN`` elsewhere.
    On SQLite, whose text order is the code point order Python sorts by, each chunk of
    sorted ids is first probed as a range: a file of new ids (the usual case) costs one
    index seek per chunk.
    """
    found: set[str] = set()
    if not external_ids:
        return found
    connection = session.connection()
    column = col(LedgerEntry.external_id)
    if connection.dialect.name == "postgresql":
        # One array parameter per 10,000 ids instead of a statement per 900.
        lookup = text("SELECT external_id FROM ledger_entry WHERE external_id = ANY(:ids)")
        for chunk in chunks(sorted(external_ids), ARRAY_CHUNK):
            found.update(v for (v,) in connection.execute(lookup, {"ids": list(chunk)}))
        return found
    probe_ranges = connection.dialect.name == "sqlite"
    for chunk in chunks(sorted(external_ids), LOOKUP_CHUNK):
        if probe_ranges:
            probe = select(column).where(column >= chunk[0], column <= chunk[-1]).limit(1)
            if connection.execute(probe).first() is None:
                continue
        found.update(v for (v,) in connection.execute(select(column).where(column.in_(chunk))) if v)
    return found


class RecordedContent(NamedTuple):
    """What an external id was recorded with: compared with a file that brings it again."""

    entry_id: int
    entry_date: date
    unit_code: str
    indicator_code: str
    points_cents: int
    note: str


def recorded_by_external_id(
    *, session: Session, external_ids: Collection[str]
) -> dict[str, RecordedContent]:
    """The recorded entries carrying these external ids (only ids known to be recorded)."""
    found: dict[str, RecordedContent] = {}
    columns = (
        col(LedgerEntry.external_id),
        col(LedgerEntry.id),
        col(LedgerEntry.entry_date),
        col(LedgerEntry.unit_code),
        col(LedgerEntry.indicator_code),
        col(LedgerEntry.points_cents),
        col(LedgerEntry.note),
    )
    for chunk in chunks(sorted(external_ids), LOOKUP_CHUNK):
        query = core_select(*columns).where(col(LedgerEntry.external_id).in_(chunk))
        for row in session.connection().execute(query):
            found[str(row[0])] = RecordedContent._make(row[1:])
    return found


ENTRY_COLUMNS = (*NewEntry._fields, "recorded_at")
COPY_TYPES = (
    "date", "varchar", "varchar", "int8", "varchar", "text", "varchar", "varchar", "int4",
    "timestamptz",
)  # fmt: skip


def _copy_entries(session: Session, entries: Sequence[NewEntry], recorded_at: datetime) -> None:
    """PostgreSQL: COPY, one streamed statement instead of a statement per row."""
    driver = session.connection().connection.driver_connection
    statement = f"COPY ledger_entry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor(binary=True) as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        # Binary COPY with declared types: about twice as fast as text rows.
        copy.set_types(COPY_TYPES)
        for e in entries:
            copy.write_row((*e, recorded_at))


def _executemany_entries(
    session: Session, entries: Sequence[NewEntry], recorded_at: datetime
) -> None:
    """Other databases (SQLite): the driver's executemany with values SQLAlchemy would bind.

    Going below SQLAlchemy's per-row parameter processing makes bulk imports several times
    faster; dates and timestamps are still converted by the column types' own processors,
    so the stored text is exactly what the ORM writes and reads.
    """
    connection = session.connection()
    dialect = connection.dialect
    table = _table(LedgerEntry)

    def processor(column: str) -> Callable[[Any], Any]:
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return process if process is not None else (lambda value: value)

    to_date = processor("entry_date")
    stamp = processor("recorded_at")(recorded_at)
    dates: dict[date, Any] = {}
    placeholders = ", ".join("?" for _ in ENTRY_COLUMNS)
    statement = f"INSERT INTO ledger_entry ({', '.join(ENTRY_COLUMNS)}) VALUES ({placeholders})"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    # SQLite's default 2 MB page cache thrashes while a large batch grows the indexes;
    # a bigger cache for the duration of the insert makes it about half as slow again.
    previous_cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        for chunk in chunks(entries, INSERT_CHUNK):
            rows = []
            for e in chunk:
                day = dates.get(e.entry_date)
                if day is None:
                    day = dates[e.entry_date] = to_date(e.entry_date)
                rows.append((day, *e[1:], stamp))
            cursor.executemany(statement, rows)
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(previous_cache)}")
        cursor.close()


def _orm_rows(entries: Sequence[NewEntry], recorded_at: datetime) -> list[dict[str, Any]]:
    return [{**e._asdict(), "recorded_at": recorded_at} for e in entries]


def insert_entries(
    *, session: Session, entries: Sequence[NewEntry], recorded_at: datetime | None = None
) -> int:
    """Append entries in bulk (in the session's transaction); return how many."""
    if not entries:
        return 0
    stamp = recorded_at or utcnow()
    dialect = session.get_bind().dialect
    if dialect.name in ("postgresql", "sqlite"):
        fast = _copy_entries if dialect.name == "postgresql" else _executemany_entries
        try:
            fast(session, entries, stamp)
        except dialect.loaded_dbapi.IntegrityError as exc:
            # Below SQLAlchemy the driver's own error surfaces: give callers the usual one.
            raise IntegrityError("bulk insert into ledger_entry", None, exc) from exc
        if dialect.name == "postgresql" and len(entries) >= ANALYZE_AFTER:
            # Fresh statistics right away, not at autovacuum's next pass: they also
            # invalidate plans prepared while the table was small (a stale plan would scan
            # the whole table for every external id lookup of the next import).
            session.connection().exec_driver_sql("ANALYZE ledger_entry")
    else:
        for chunk in chunks(entries, INSERT_CHUNK):
            session.exec(insert(_table(LedgerEntry)), params=_orm_rows(chunk, stamp))
    return len(entries)


def add_entry(*, session: Session, entry: NewEntry) -> LedgerEntry:
    """Append one entry and return it with its id."""
    record = LedgerEntry(
        entry_date=entry.entry_date,
        unit_code=entry.unit_code,
        indicator_code=entry.indicator_code,
        points_cents=entry.points_cents,
        note=entry.note,
        source=entry.source,
        entered_by=entry.entered_by,
        external_id=entry.external_id,
        reverses_id=entry.reverses_id,
    )
    session.add(record)
    session.flush()
    return record


def get_entry(*, session: Session, entry_id: int) -> LedgerEntry | None:
    """An entry by id."""
    return session.get(LedgerEntry, entry_id)


def entry_by_external_id(*, session: Session, external_id: str) -> LedgerEntry | None:
    """The entry recorded under an external id, if any."""
    statement = select(LedgerEntry).where(col(LedgerEntry.external_id) == external_id)
    return session.exec(statement).first()


def reversal_of(*, session: Session, entry_id: int) -> LedgerEntry | None:
    """The entry that reversed ``entry_id``, if any."""
    statement = select(LedgerEntry).where(col(LedgerEntry.reverses_id) == entry_id)
    return session.exec(statement).first()


def count_entries(*, session: Session) -> int:
    """How many entries the ledger holds."""
    return int(session.exec(select(func.count()).select_from(LedgerEntry)).one())


def list_entries(
    *,
    session: Session,
    unit_code: str | None = None,
    indicator_code: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int | None = None,
) -> list[LedgerEntry]:
    """Entries, newest first (by date, then id), filtered as asked."""
    statement = select(LedgerEntry).order_by(
        col(LedgerEntry.entry_date).desc(), col(LedgerEntry.id).desc()
    )
    if unit_code is not None:
        statement = statement.where(col(LedgerEntry.unit_code) == unit_code)
    if indicator_code is not None:
        statement = statement.where(col(LedgerEntry.indicator_code) == indicator_code)
    if start is not None:
        statement = statement.where(col(LedgerEntry.entry_date) >= start)
    if end is not None:
        statement = statement.where(col(LedgerEntry.entry_date) < end)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))


class TotalRow(NamedTuple):
    """One unit's sum on one indicator over a date range, as the database computed it."""

    unit_code: str
    indicator_code: str
    cents: int
    entries: int


def indicator_totals(
    *,
    session: Session,
    start: date,
    end: date,
    unit_codes: Iterable[str] | None = None,
    group: str | None = None,
) -> list[TotalRow]:
    """Per unit and indicator: SUM(points_cents) and COUNT(*) of entries dated in [start, end)."""
    unit = col(LedgerEntry.unit_code)
    indicator = col(LedgerEntry.indicator_code)
    day = col(LedgerEntry.entry_date)
    conditions: list[ColumnElement[bool]] = [day >= start, day < end]
    if unit_codes is not None:
        conditions.append(unit.in_(list(unit_codes)))
    # Naming the units (all, or one group's) lets the database walk the unit-first index
    # unit by unit over the date range instead of scanning all of it.
    members = select(col(Unit.code))
    if group is not None:
        members = members.where(col(Unit.group_name) == group)
    conditions.append(unit.in_(members.scalar_subquery()))
    # SUM of a BIGINT is NUMERIC on PostgreSQL: cast back so rows arrive as plain ints.
    total = cast(func.sum(col(LedgerEntry.points_cents)), BigInteger)
    statement = (
        select(unit, indicator, total, func.count()).where(*conditions).group_by(unit, indicator)
    )
    # A plain Core execution fetched at once: tens of thousands of rows skip the ORM's row
    # processing and the driver's row-by-row fetching.
    rows = session.connection().execute(statement).all()
    return [TotalRow(u, i, int(c), int(n)) for u, i, c, n in rows]


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class NewReview:
    """A validated year-end review score."""

    year: int
    unit_code: str
    score_cents: int
    entered_by: str
    source: str = ""


def latest_reviews(
    *, session: Session, year: int, unit_codes: Iterable[str] | None = None
) -> dict[str, int]:
    """Each unit's current review score (hundredths) for a year: its latest recorded row."""
    latest = (
        select(func.max(col(Review.id)))
        .where(col(Review.year) == year)
        .group_by(col(Review.unit_code))
    )
    statement = select(col(Review.unit_code), col(Review.score_cents)).where(
        col(Review.id).in_(latest.scalar_subquery())
    )
    if unit_codes is not None:
        statement = statement.where(col(Review.unit_code).in_(list(unit_codes)))
    return {code: int(cents) for code, cents in session.exec(statement)}


def insert_reviews(
    *, session: Session, reviews: Sequence[NewReview], recorded_at: datetime | None = None
) -> int:
    """Record review scores (each supersedes the unit's earlier score for that year)."""
    stamp = recorded_at or utcnow()
    table = _table(Review)
    rows = [
        {
            "year": r.year,
            "unit_code": r.unit_code,
            "score_cents": r.score_cents,
            "source": r.source,
            "entered_by": r.entered_by,
            "recorded_at": stamp,
        }
        for r in reviews
    ]
    for chunk in chunks(rows, INSERT_CHUNK):
        session.exec(insert(table), params=list(chunk))
    return len(rows)


# ---------------------------------------------------------------- rulebook facts scoring needs


@dataclass(frozen=True)
class IndicatorFacts:
    """The columns of an indicator that scoring uses (no texts, no JSON)."""

    code: str
    name: str
    type: str
    points_cents: int
    cap_cents: int | None
    active: bool


def scoring_indicators(*, session: Session) -> list[IndicatorFacts]:
    """Every indicator, retired ones included (old entries still count by their rule)."""
    statement = core_select(
        col(IndicatorRecord.code),
        col(IndicatorRecord.name),
        col(IndicatorRecord.type),
        col(IndicatorRecord.points_cents),
        col(IndicatorRecord.cap_cents),
        col(IndicatorRecord.active),
    ).order_by(col(IndicatorRecord.position), col(IndicatorRecord.code))
    return [IndicatorFacts(*row) for row in session.connection().execute(statement)]


def latest_rulebook_key(*, session: Session) -> tuple[int, str] | None:
    """The id and content hash of the current rulebook version, if any."""
    statement = (
        select(col(RulebookVersion.id), col(RulebookVersion.sha256))
        .order_by(col(RulebookVersion.id).desc())
        .limit(1)
    )
    row = session.exec(statement).first()
    if row is None or row[0] is None:
        return None
    return int(row[0]), str(row[1])


def rulebook_document(*, session: Session, version_id: int) -> tuple[str, str]:
    """The stored YAML text of a rulebook version and its source file name."""
    version = session.get(RulebookVersion, version_id)
    if version is None:
        raise LookupError(f"rulebook version {version_id} not found")
    return version.document, version.source


def has_entries_between(*, session: Session, start: date, end: date) -> bool:
    """Whether any ledger entry falls in ``[start, end)``, whatever the unit."""
    found = session.exec(
        select(LedgerEntry.id)
        .where(col(LedgerEntry.entry_date) >= start)
        .where(col(LedgerEntry.entry_date) < end)
        .limit(1)
    ).first()
    return found is not None

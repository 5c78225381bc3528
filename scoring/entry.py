"""Entering data: imports of units, ledger and reviews; single entries and reversals.

Each function works inside the caller's session (one transaction): a refused file or a
refused entry raises :class:`~knowledge.files.InputError` before anything is written, and
the caller's rollback undoes any partial work. The CLI and the bot's admin commands call
these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import scoring_store
from db.models import LedgerEntry
from db.scoring_store import NewEntry
from knowledge.files import InputError, Problem, Problems
from knowledge.numbers import NumberError, parse_points
from knowledge.points import cents_of, decimal_of
from scoring.imports import (
    CODE,
    DATE,
    ENTERED_BY,
    EXTERNAL_ID,
    INDICATOR,
    MAX_NOTE,
    MAX_SHORT,
    MIN_DATE,
    NOTE,
    POINTS,
    UNIT,
    LedgerFile,
    Lookup,
    lookup_key,
    parse_ledger,
    parse_reviews,
    parse_units,
    paused_gc,
)

ARGUMENTS = "录入内容"  # the "file" a single entry's problems are located in
MANUAL_SOURCE = "手工录入"
REVERSAL_SOURCE = "冲正"
SKIPPED_SAMPLE = 10


@dataclass(frozen=True)
class EntryView:
    """A recorded ledger entry, as replies and reports show it."""

    id: int
    entry_date: date
    unit_code: str
    indicator_code: str
    points: Decimal
    note: str
    source: str
    entered_by: str
    external_id: str | None
    reverses_id: int | None
    recorded_at: datetime

    @classmethod
    def of(cls, record: LedgerEntry) -> EntryView:
        """The view of a stored row."""
        assert record.id is not None
        return cls(
            id=record.id,
            entry_date=record.entry_date,
            unit_code=record.unit_code,
            indicator_code=record.indicator_code,
            points=decimal_of(record.points_cents),
            note=record.note,
            source=record.source,
            entered_by=record.entered_by,
            external_id=record.external_id,
            reverses_id=record.reverses_id,
            # SQLite hands timestamps back without a zone; they were written in UTC.
            recorded_at=(
                record.recorded_at
                if record.recorded_at.tzinfo is not None
                else record.recorded_at.replace(tzinfo=UTC)
            ),
        )


def unit_lookup(*, session: Session) -> Lookup:
    """Units by code (any case) or unambiguous name."""
    units = scoring_store.list_units(session=session)
    return Lookup.build("单位", ((u.code, u.name) for u in units))


def indicator_lookup(*, session: Session) -> Lookup:
    """Indicators by code (any case) or unambiguous name; retired ones refuse new points."""
    facts = scoring_store.scoring_indicators(session=session)
    return Lookup.build(
        "指标", ((f.code, f.name) for f in facts), inactive=(f.code for f in facts if not f.active)
    )


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitImport:
    """What a units import changed, and how many repeated rows it skipped."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: int


def import_units(*, session: Session, path: Path) -> UnitImport:
    """Add or update the units a file lists; units it leaves out are kept."""
    parsed = parse_units(path)
    units = parsed.units
    known = {lookup_key(u.code): u.code for u in scoring_store.list_units(session=session)}
    clashes = [
        Problem(
            path.name,
            f"编码“{u.code}”与已有单位“{known[lookup_key(u.code)]}”仅大小写不同",
            field=CODE,
        )
        for u in units
        if known.get(lookup_key(u.code), u.code) != u.code
    ]
    if clashes:
        raise InputError(clashes)
    done = scoring_store.upsert_units(session=session, units=units)
    return UnitImport(done.added, done.updated, done.unchanged, parsed.duplicates)


# ---------------------------------------------------------------- ledger


@dataclass(frozen=True)
class LedgerImport:
    """What a ledger import did."""

    file: str
    rows: int
    added: int
    skipped_existing: int  # the external id was already recorded: never counted twice
    skipped_sample: tuple[str, ...] = field(default_factory=tuple)
    skipped_duplicates: int = 0  # rows repeated within the file (same 编号, same content)


def import_ledger(*, session: Session, path: Path, entered_by: str, today: date) -> LedgerImport:
    """Append a ledger file's entries; entries whose external id is recorded are skipped."""
    with paused_gc():
        return _import_ledger(session=session, path=path, entered_by=entered_by, today=today)


def _import_ledger(*, session: Session, path: Path, entered_by: str, today: date) -> LedgerImport:
    parsed = parse_ledger(
        path,
        units=unit_lookup(session=session),
        indicators=indicator_lookup(session=session),
        entered_by=entered_by,
        today=today,
    )
    ids = {e.external_id for e in parsed.entries if e.external_id is not None}
    existing = scoring_store.existing_external_ids(session=session, external_ids=ids)
    if existing:
        _refuse_changed_reimports(session, parsed, existing)
    fresh = (
        [e for e in parsed.entries if e.external_id not in existing] if existing else parsed.entries
    )
    try:
        added = scoring_store.insert_entries(session=session, entries=fresh)
    except IntegrityError as exc:
        raise InputError(
            [Problem(path.name, "写入时编号与同时进行的另一次导入冲突，已全部撤销，请重新导入")]
        ) from exc
    return LedgerImport(
        file=parsed.file,
        rows=len(parsed.entries) + parsed.duplicates,
        added=added,
        skipped_existing=len(parsed.entries) - added,
        skipped_sample=tuple(sorted(existing)[:SKIPPED_SAMPLE]),
        skipped_duplicates=parsed.duplicates,
    )


def _refuse_changed_reimports(session: Session, parsed: LedgerFile, existing: set[str]) -> None:
    """A recorded 编号 brought again with other content is a conflict, never a silent skip."""
    recorded = scoring_store.recorded_by_external_id(session=session, external_ids=existing)
    problems = Problems()
    for entry, line in zip(parsed.entries, parsed.lines, strict=True):
        stored = recorded.get(entry.external_id or "")
        if stored is None or (stored[1:5] == entry[:4] and stored.note == entry.note):
            continue
        points = decimal_of(stored.points_cents)
        problems.append(
            Problem(
                parsed.file,
                f"编号“{entry.external_id}”已记入第 {stored.entry_id} 条台账（{stored.entry_date} "
                f"{stored.unit_code} {stored.indicator_code} {points} 分），"
                "本行内容不同；台账只追加不修改，如需更正请冲正原记录后用新编号录入",
                line=line,
                field=EXTERNAL_ID,
            )
        )
    if problems:
        raise InputError(problems)


def _text_problems(note: str, entered_by: str, problems: list[Problem]) -> None:
    if len(note) > MAX_NOTE:
        problems.append(Problem(ARGUMENTS, f"说明过长（最多 {MAX_NOTE} 字）", field=NOTE))
    if not entered_by.strip():
        problems.append(Problem(ARGUMENTS, "录入人为空", field=ENTERED_BY))
    elif len(entered_by) > MAX_SHORT:
        problems.append(Problem(ARGUMENTS, f"录入人过长（最多 {MAX_SHORT} 字）", field=ENTERED_BY))


def check_points(points: str | Decimal) -> Decimal:
    """The points of a single entry, parsed strictly; refused before anyone confirms them."""
    try:
        return parse_points(points)
    except NumberError as exc:
        raise InputError([Problem(ARGUMENTS, f"{POINTS}{exc}", field=POINTS)]) from exc


def prepare_entry(
    *,
    session: Session,
    unit: str,
    indicator: str,
    points: str | Decimal,
    entry_date: date,
    note: str,
    entered_by: str,
    today: date,
    source: str = MANUAL_SOURCE,
) -> NewEntry:
    """One entry checked and resolved (codes, exact points), not written: every problem with
    the arguments is reported at once. A confirm step shows this before anything is stored."""
    problems: list[Problem] = []
    unit_code = indicator_code = ""
    try:
        unit_code = unit_lookup(session=session).resolve(unit)
    except ValueError as exc:
        problems.append(Problem(ARGUMENTS, str(exc), field=UNIT))
    try:
        indicator_code = indicator_lookup(session=session).resolve(indicator)
    except ValueError as exc:
        problems.append(Problem(ARGUMENTS, str(exc), field=INDICATOR))
    cents = 0
    try:
        cents = cents_of(check_points(points))
    except InputError as exc:
        problems.extend(exc.problems)
    if entry_date > today:
        problems.append(Problem(ARGUMENTS, f"日期 {entry_date} 晚于今天，不能预先记分", field=DATE))
    elif entry_date < MIN_DATE:
        problems.append(Problem(ARGUMENTS, f"日期 {entry_date} 早于 2000 年", field=DATE))
    _text_problems(note, entered_by, problems)
    if problems:
        raise InputError(problems)
    return NewEntry(
        entry_date=entry_date,
        unit_code=unit_code,
        indicator_code=indicator_code,
        points_cents=cents,
        entered_by=entered_by.strip(),
        note=note.strip(),
        source=source,
    )


def add_entry(
    *,
    session: Session,
    unit: str,
    indicator: str,
    points: str | Decimal,
    entry_date: date,
    note: str,
    entered_by: str,
    today: date,
    source: str = MANUAL_SOURCE,
) -> EntryView:
    """Record one entry; every problem with the arguments is reported at once."""
    entry = prepare_entry(
        session=session,
        unit=unit,
        indicator=indicator,
        points=points,
        entry_date=entry_date,
        note=note,
        entered_by=entered_by,
        today=today,
        source=source,
    )
    return EntryView.of(scoring_store.add_entry(session=session, entry=entry))


def reverse_entry(*, session: Session, entry_id: int, note: str, entered_by: str) -> EntryView:
    """Cancel an entry with a new one of opposite points, on the same date (same period).

    An entry is reversed at most once, and a reversal is never reversed: to restore
    reversed points, enter them again.
    """
    problems: list[Problem] = []
    if not note.strip():
        problems.append(Problem(ARGUMENTS, "请说明冲正原因", field=NOTE))
    _text_problems(note, entered_by, problems)
    original = scoring_store.get_entry(session=session, entry_id=entry_id)
    if original is None:
        problems.append(Problem(ARGUMENTS, f"没有编号为 {entry_id} 的台账记录", field="记录"))
    elif original.reverses_id is not None:
        problems.append(
            Problem(
                ARGUMENTS,
                f"第 {entry_id} 条本身是对第 {original.reverses_id} 条的冲正，不能再冲正；"
                "如需恢复，请重新录入该分值",
                field="记录",
            )
        )
    else:
        earlier = scoring_store.reversal_of(session=session, entry_id=entry_id)
        if earlier is not None:
            problems.append(
                Problem(
                    ARGUMENTS,
                    f"第 {entry_id} 条已由第 {earlier.id} 条冲正（{earlier.entered_by}，"
                    f"{earlier.recorded_at:%Y-%m-%d}），不能重复冲正",
                    field="记录",
                )
            )
    if problems or original is None or original.id is None:
        raise InputError(problems)
    try:
        record = scoring_store.add_entry(
            session=session,
            entry=NewEntry(
                entry_date=original.entry_date,
                unit_code=original.unit_code,
                indicator_code=original.indicator_code,
                points_cents=-original.points_cents,
                entered_by=entered_by.strip(),
                note=note.strip(),
                source=REVERSAL_SOURCE,
                reverses_id=original.id,
            ),
        )
    except IntegrityError as exc:
        raise InputError(
            [Problem(ARGUMENTS, f"第 {entry_id} 条刚刚已被他人冲正，不能重复冲正", field="记录")]
        ) from exc
    return EntryView.of(record)


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class ReviewImport:
    """What a review import did."""

    file: str
    rows: int
    added: int  # first score for that unit and year
    changed: int  # a new score superseding an earlier one (the earlier stays on record)
    unchanged: int  # same score as recorded: skipped
    duplicates: int = 0  # rows repeated within the file (same year, unit and score): skipped


def import_reviews(*, session: Session, path: Path, entered_by: str) -> ReviewImport:
    """Record year-end review scores; an identical re-import changes nothing."""
    parsed = parse_reviews(path, units=unit_lookup(session=session), entered_by=entered_by)
    reviews = parsed.reviews
    current: dict[int, dict[str, int]] = {}
    for year in sorted({r.year for r in reviews}):
        current[year] = scoring_store.latest_reviews(session=session, year=year)
    fresh = [r for r in reviews if current[r.year].get(r.unit_code) != r.score_cents]
    changed = sum(1 for r in fresh if r.unit_code in current[r.year])
    scoring_store.insert_reviews(session=session, reviews=fresh)
    return ReviewImport(
        file=path.name,
        rows=len(reviews),
        added=len(fresh) - changed,
        changed=changed,
        unchanged=len(reviews) - len(fresh),
        duplicates=parsed.duplicates,
    )

"""Data access for the rulebook: import a version, retire what it dropped, load what is live."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from db import learning_store, question_path
from db.models import IndicatorRecord, RulebookVersion, utcnow
from db.session import connection_of
from knowledge.files import InputError, Problem
from knowledge.learned import LearnedPhrasing, learned_of, with_learned
from knowledge.points import cents_of
from knowledge.rulebook import Indicator, Rulebook
from knowledge.rulebook_writers import rulebook_to_yaml
from knowledge.synonyms import OfficeSynonym, synonyms_of, with_synonyms


@dataclass(frozen=True)
class RulebookImport:
    """What an import changed."""

    version_id: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)


def _record_values(indicator: Indicator) -> dict[str, Any]:
    return {
        "name": indicator.name,
        "type": indicator.type.value,
        "category": indicator.category,
        "points_cents": cents_of(indicator.points),
        "cap_cents": cents_of(indicator.cap) if indicator.cap is not None else None,
        "owner": indicator.owner,
        "cycle": indicator.cycle.value if indicator.cycle else None,
        "standard": indicator.standard,
        "aliases": list(indicator.aliases),
        "interpretations": [
            {"level": i.level.value, "text": i.text} for i in indicator.interpretations
        ],
        "faq": [{"q": f.q, "a": f.a} for f in indicator.faq],
    }


@dataclass(frozen=True)
class RulebookPlan:
    """What importing a rulebook would change, worked out without writing anything."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    retired: list[str]
    reactivated: list[str]
    active_before: int

    @property
    def retires_many(self) -> bool:
        """Whether the import would retire more than a quarter of the active indicators.

        A rulebook file that lost half its rows (a wrong sheet, a truncated export) would
        otherwise silently retire half the indicators and stop all scoring on them.
        """
        return len(self.retired) * RETIRE_CONFIRM_DENOMINATOR > self.active_before


RETIRE_CONFIRM_DENOMINATOR = 4  # more than 1/4 of the active indicators retired: confirm
RETIRED_SHOWN = 10


class UnconfirmedRetirementError(InputError):
    """An import would retire many indicators and nobody confirmed it; nothing was written."""

    def __init__(self, plan: RulebookPlan, *, file: str) -> None:
        self.plan = plan
        shown = "、".join(plan.retired[:RETIRED_SHOWN])
        more = f"等 {len(plan.retired)} 项" if len(plan.retired) > RETIRED_SHOWN else ""
        super().__init__(
            [
                Problem(
                    file,
                    f"此次导入将停用 {len(plan.retired)} 项指标（现有有效指标 "
                    f"{plan.active_before} 项，超过四分之一）：{shown}{more}。"
                    "请确认文件完整；确需停用的，请确认后再导入",
                )
            ]
        )


def plan_rulebook_import(*, session: Session, rulebook: Rulebook) -> RulebookPlan:
    """What :func:`import_rulebook` would add, change, leave, retire and bring back."""
    existing = {r.code: r for r in session.exec(select(IndicatorRecord)).all()}
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    reactivated: list[str] = []
    for indicator in rulebook.indicators:
        record = existing.pop(indicator.code, None)
        if record is None:
            added.append(indicator.code)
        elif not record.active:
            reactivated.append(indicator.code)
        elif any(getattr(record, k) != v for k, v in _record_values(indicator).items()):
            updated.append(indicator.code)
        else:
            unchanged.append(indicator.code)
    retired = [r.code for r in existing.values() if r.active]
    active_before = len(updated) + len(unchanged) + len(retired)
    return RulebookPlan(added, updated, unchanged, retired, reactivated, active_before)


def import_rulebook(
    *,
    session: Session,
    rulebook: Rulebook,
    source: str,
    imported_by: str,
    retire_missing: bool = False,
) -> RulebookImport:
    """Store a validated rulebook as the current version; retire codes it no longer has.

    Learned phrasings and office synonyms the file carries join the tables that outlive
    versions (nothing there is deleted); the stored document is the rulebook without them.
    Retiring more than a quarter of the active indicators needs ``retire_missing``;
    without it :class:`UnconfirmedRetirementError` is raised before anything is written.
    """
    if not retire_missing:
        plan = plan_rulebook_import(session=session, rulebook=rulebook)
        if plan.retires_many:
            raise UnconfirmedRetirementError(plan, file=source)
    phrasings, synonyms = learned_of(rulebook, file=source), synonyms_of(rulebook)
    rulebook = with_synonyms(with_learned(rulebook, ()), ())
    document = rulebook_to_yaml(rulebook)
    version = RulebookVersion(
        title=rulebook.title,
        year=rulebook.year,
        source=source,
        sha256=hashlib.sha256(document.encode("utf-8")).hexdigest(),
        document=document,
        imported_by=imported_by,
    )
    session.add(version)
    session.flush()
    assert version.id is not None
    existing = {r.code: r for r in session.exec(select(IndicatorRecord)).all()}
    result = RulebookImport(version_id=version.id)
    now = utcnow()
    for position, indicator in enumerate(rulebook.indicators):
        values = _record_values(indicator)
        record = existing.pop(indicator.code, None)
        if record is None:
            session.add(
                IndicatorRecord(
                    code=indicator.code, position=position, version_id=version.id, **values
                )
            )
            result.added.append(indicator.code)
            continue
        changed = any(getattr(record, k) != v for k, v in values.items())
        if not record.active:
            result.reactivated.append(indicator.code)
        elif changed:
            result.updated.append(indicator.code)
        else:
            result.unchanged.append(indicator.code)
        for key, value in values.items():
            setattr(record, key, value)
        record.position = position
        record.active = True
        record.retired_at = None
        if changed or record.version_id != version.id:
            record.version_id = version.id
            record.updated_at = now
        session.add(record)
    for record in existing.values():
        if record.active:
            record.active = False
            record.retired_at = now
            session.add(record)
            result.retired.append(record.code)
    _merge_learning(session, phrasings, synonyms, imported_by)
    version.added = len(result.added)
    version.updated = len(result.updated) + len(result.reactivated)
    version.unchanged = len(result.unchanged)
    version.retired = len(result.retired)
    session.add(version)
    return result


def _merge_learning(
    session: Session,
    phrasings: Sequence[LearnedPhrasing],
    synonyms: Sequence[OfficeSynonym],
    imported_by: str,
) -> None:
    session.flush()  # the new version is the one new phrasings and synonyms belong to
    for phrasing in phrasings:
        learning_store.learn_phrasing(
            session=session,
            code=phrasing.code,
            question=phrasing.question,
            source=phrasing.source,
            by=phrasing.by or imported_by,
            learned_at=_parse_moment(phrasing.at),
        )
    learning_store.add_synonyms(session=session, synonyms=synonyms, by=imported_by)


def _parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_rulebook(*, session: Session, include_retired: bool = False) -> Rulebook | None:
    """The live rulebook (title, year and scoring of the latest import plus active indicators,
    learned phrasings and office synonyms): :func:`db.question_path.load_rulebook`."""
    return question_path.load_rulebook(connection_of(session), include_retired=include_retired)


def find_indicator(*, session: Session, code: str) -> tuple[Indicator, bool] | None:
    """An indicator by code (case-insensitive), retired or not, with its active flag."""
    return question_path.find_indicator(connection_of(session), code)

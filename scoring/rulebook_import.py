"""The one way a rulebook file gets in: read, validate (scoring block included), store.

The CLI (``kpibot rulebook check|import``), a file sent to a door, and the demo all call
these two functions, so no path can skip a check.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from db import rulebook_store
from db.rulebook_store import RulebookImport, RulebookPlan
from knowledge.learned import learned_of
from knowledge.rulebook import Rulebook
from knowledge.rulebook_files import read_rulebook
from knowledge.synonyms import synonyms_of
from scoring.rules import rules_from_rulebook


def read_checked_rulebook(path: Path, *, faq_path: Path | None = None) -> Rulebook:
    """The rulebook in ``path`` with its scoring block and synonym table validated
    (InputError when not)."""
    rulebook = read_rulebook(path, faq_path=faq_path)
    rules_from_rulebook(rulebook.scoring, file=path.name)
    learned_of(rulebook, file=path.name)  # learned phrasings the file carries
    synonyms_of(rulebook, source=path.name)  # the office synonym table, if it has one
    return rulebook


def import_rulebook_file(
    *,
    session: Session,
    path: Path,
    imported_by: str,
    faq_path: Path | None = None,
    retire_missing: bool = False,
) -> tuple[Rulebook, RulebookImport]:
    """Validate ``path`` and store it as the current rulebook (missing codes are retired).

    Retiring more than a quarter of the active indicators needs ``retire_missing``;
    without it :class:`~db.rulebook_store.UnconfirmedRetirementError` is raised first.
    """
    rulebook = read_checked_rulebook(path, faq_path=faq_path)
    result = rulebook_store.import_rulebook(
        session=session,
        rulebook=rulebook,
        source=path.name,
        imported_by=imported_by,
        retire_missing=retire_missing,
    )
    return rulebook, result


def plan_rulebook_file(
    *, session: Session, path: Path, faq_path: Path | None = None
) -> tuple[Rulebook, RulebookPlan]:
    """Validate ``path`` and work out what importing it would change, writing nothing."""
    rulebook = read_checked_rulebook(path, faq_path=faq_path)
    return rulebook, rulebook_store.plan_rulebook_import(session=session, rulebook=rulebook)

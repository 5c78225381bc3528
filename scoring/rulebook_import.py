"""The one way a rulebook file gets in: read, validate (scoring block included), store.

The CLI (``kpibot rulebook check|import``), a file sent to a door, and the demo all call
these two functions, so no path can skip a check.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from db import rulebook_store
from db.rulebook_store import RulebookImport
from knowledge.learned import learned_of
from knowledge.rulebook import Rulebook
from knowledge.rulebook_files import read_rulebook
from knowledge.synonyms import synonyms_of
from scoring.rules import rules_from_rulebook


def read_checked_rulebook(path: Path, *, faq_path: Path | None = None) -> Rulebook:
    """The rulebook in ``path`` with its scoring block validated (InputError when not)."""
    rulebook = read_rulebook(path, faq_path=faq_path)
    rules_from_rulebook(rulebook.scoring, file=path.name)
    learned_of(rulebook, file=path.name)  # learned phrasings and synonyms the file carries
    synonyms_of(rulebook)
    return rulebook


def import_rulebook_file(
    *, session: Session, path: Path, imported_by: str, faq_path: Path | None = None
) -> tuple[Rulebook, RulebookImport]:
    """Validate ``path`` and store it as the current rulebook (missing codes are retired)."""
    rulebook = read_checked_rulebook(path, faq_path=faq_path)
    result = rulebook_store.import_rulebook(
        session=session, rulebook=rulebook, source=path.name, imported_by=imported_by
    )
    return rulebook, result

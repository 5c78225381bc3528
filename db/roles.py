"""The roles a bound user can have (kept apart from the tables, so that naming a role, as
the command line's options do, does not load the database layer)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a bound user is to the appraisal."""

    STAFF = "staff"
    LIAISON = "liaison"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's Chinese name."""
        return {"staff": "干部职工", "liaison": "绩效联络员", "admin": "绩效办"}[self.value]

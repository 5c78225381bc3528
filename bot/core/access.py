"""Who may do what: the one place every permission is decided.

A caller is whoever writes to a door, known by ``(channel, external_id)``; an audience is who
a command or a button is for. The command table gives each an audience, and the dispatcher
admits every message through :func:`admit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

from db.users_store import Role

logger = logging.getLogger(__name__)


class Audience(IntEnum):
    """Who a command is for; each level includes the ones above it."""

    ANYONE = 0
    MEMBER = 1  # staff or liaison of a unit, or an admin
    ADMIN = 2


@dataclass(frozen=True)
class Caller:
    """A user as the core sees them: where they write from, who they are, their role.

    ``channel`` is the door (``telegram``, ``wecom``, ``console``, ``cli``) and
    ``external_id`` the channel's own id of the user as text. ``user_id`` is the number
    recorded as who answered a notice: the Telegram id for Telegram users, the account
    number (``bot_user.id``) for users of other channels, None when unbound.
    """

    channel: str
    external_id: str
    role: Role | None = None
    unit_code: str | None = None
    user_id: int | None = None

    @property
    def clearance(self) -> Audience:
        """The highest audience this caller belongs to."""
        if self.role is Role.ADMIN:
            return Audience.ADMIN
        if self.role in (Role.STAFF, Role.LIAISON) and self.unit_code:
            return Audience.MEMBER
        return Audience.ANYONE

    @property
    def is_admin(self) -> bool:
        """Whether the caller is the performance office."""
        return self.clearance is Audience.ADMIN

    @property
    def who(self) -> str:
        """Who entered a change, for the ledger's audit trail (``telegram:123``)."""
        return f"{self.channel}:{self.external_id}"[:100]


REFUSALS = {
    Audience.MEMBER: (
        "抱歉，该功能仅向已绑定单位的用户开放。请向绩效办索取邀请码，"
        "然后发送 /start 邀请码 完成绑定。"
    ),
    Audience.ADMIN: "抱歉，该功能仅限绩效办使用。如有需要，请联系绩效办。",
}
OTHER_UNIT = "抱歉，您只能查看本单位（{unit}）的积分。"


def may(caller: Caller, audience: Audience) -> bool:
    """Whether the caller belongs to the audience."""
    return caller.clearance >= audience


def admit(caller: Caller, audience: Audience, action: str) -> str | None:
    """None if the caller may do ``action``; otherwise the polite refusal (and it is logged)."""
    if may(caller, audience):
        return None
    logger.info(
        "refused %s to %s (role %s, needs %s)",
        action,
        caller.who,
        caller.role.value if caller.role else "none",
        audience.name.lower(),
    )
    return REFUSALS[audience]


def unit_in_view(caller: Caller, unit_code: str | None) -> str | None:
    """The unit a caller may look at: their own, or (admins) the one asked for.

    Returns the unit code, or None when the caller asked for a unit they may not see.
    """
    if caller.is_admin:
        return unit_code or caller.unit_code
    if unit_code is None or unit_code.upper() == (caller.unit_code or "").upper():
        return caller.unit_code
    logger.info("refused unit %s to %s", unit_code, caller.who)
    return None


def may_answer_notice(caller: Caller, unit_code: str) -> bool:
    """Whether the caller may answer a unit's rectification notice (已阅, measures):
    a liaison of that unit, or the performance office."""
    if caller.is_admin:
        return True
    return caller.role is Role.LIAISON and (caller.unit_code or "").upper() == unit_code.upper()

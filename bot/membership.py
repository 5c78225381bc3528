"""Binding users to roles with invite codes, and knowing who is writing, on any channel."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.access import Caller
from bot.core.errors import UserError
from bot.core.reply import Reply
from bot.services import Services
from db import users_store
from db.models import BotUser
from db.users_store import InviteError, Role

logger = logging.getLogger(__name__)


def caller_of(channel: str, external_id: str, user: BotUser | None) -> Caller:
    """The caller a bound user (or nobody) is."""
    if user is None:
        return Caller(channel, external_id)
    number = user.telegram_id if user.telegram_id is not None else user.id
    return Caller(channel, external_id, Role(user.role), user.unit_code, number)


class Membership:
    """Who a user is to the appraisal, and invite codes that change it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def caller(self, channel: str, external_id: str) -> Caller:
        """The caller with their role and unit (no role if unbound)."""
        with self.services.session() as session:
            user = users_store.find_user(session=session, channel=channel, external_id=external_id)
            return caller_of(channel, external_id, user)

    def bind(self, caller: Caller, code: str) -> Reply:
        """Redeem an invite code for the caller."""
        try:
            with self.services.session() as session:
                user = users_store.redeem_invite(
                    session=session,
                    code=code,
                    channel=caller.channel,
                    external_id=caller.external_id,
                )
                role, unit = Role(user.role), user.unit_code
        except InviteError as exc:
            logger.info("invite refused for %s: %s", caller.who, exc)
            raise UserError(str(exc)) from exc
        logger.info("%s bound as %s of %s", caller.who, role.value, unit or "-")
        return Reply(
            self.services.renderer.html("bound.html.j2", role=role.label, unit=unit),
            identity_changed=True,
        )

    def invite(self, *, role_text: str, unit: str | None, created_by: str, days: int = 7) -> Reply:
        """Make an invite code (the caller's right to do so is checked before)."""
        try:
            role = Role(role_text.strip().lower())
        except ValueError:
            raise UserError("角色应为 staff、liaison 或 admin。") from None
        try:
            with self.services.session() as session:
                code = users_store.create_invite(
                    session=session,
                    role=role,
                    unit_code=unit,
                    created_by=created_by,
                    ttl=timedelta(days=days),
                )
        except InviteError as exc:
            raise UserError(str(exc)) from exc
        return Reply(
            self.services.renderer.html(
                "invite.html.j2", role=role.label, unit=unit, days=days, code=code
            )
        )

    def record_feedback(self, caller: Caller, code: str, *, useful: bool) -> None:
        """Store one 👍/👎 on an indicator answer."""
        with self.services.session() as session:
            users_store.record_feedback(
                session=session,
                channel=caller.channel,
                external_id=caller.external_id,
                indicator_code=code,
                useful=useful,
            )

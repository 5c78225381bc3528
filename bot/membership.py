"""Binding users to roles with invite codes, and knowing who is writing."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.access import Caller
from bot.conversation import Reply
from bot.services import Services
from db import users_store
from db.users_store import InviteError, Role

logger = logging.getLogger(__name__)


class Membership:
    """Who a user is to the appraisal, and invite codes that change it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def caller(self, user_id: int | None) -> Caller:
        """The caller with their role and unit (no role if unbound or unknown)."""
        if user_id is None:
            return Caller(None)
        with self.services.session() as session:
            user = users_store.get_user(session=session, telegram_id=user_id)
            if user is None:
                return Caller(user_id)
            return Caller(user_id, Role(user.role), user.unit_code)

    def bind(self, user_id: int, code: str) -> Reply:
        """Redeem an invite code for ``user_id``."""
        try:
            with self.services.session() as session:
                user = users_store.redeem_invite(session=session, code=code, telegram_id=user_id)
                role, unit = Role(user.role), user.unit_code
        except InviteError as exc:
            logger.info("invite refused for user %s: %s", user_id, exc)
            return Reply(self.services.renderer.html("problem.html.j2", message=str(exc)))
        logger.info("user %s bound as %s of %s", user_id, role.value, unit or "-")
        return Reply(self.services.renderer.html("bound.html.j2", role=role.label, unit=unit))

    def invite(self, *, role_text: str, unit: str | None, created_by: str, days: int = 7) -> Reply:
        """Make an invite code (the caller's right to do so is checked before)."""
        renderer = self.services.renderer
        try:
            role = Role(role_text.strip().lower())
        except ValueError:
            return Reply(
                renderer.html("problem.html.j2", message="角色应为 staff、liaison 或 admin。")
            )
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
            return Reply(renderer.html("problem.html.j2", message=str(exc)))
        return Reply(
            renderer.html("invite.html.j2", role=role.label, unit=unit, days=days, code=code)
        )

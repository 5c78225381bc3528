"""Data access for bot users, their roles and one-time invite codes, and answer feedback.

An invite code is shown once and stored only as its SHA-256. Redeeming it is one conditional
``UPDATE … WHERE used_at IS NULL AND expires_at > now``: the database, not the caller,
guarantees that two concurrent redemptions cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import AnswerFeedback, BotUser, Invite, Unit, utcnow
from db.roles import Role as Role  # part of this module's API

DEFAULT_INVITE_TTL = timedelta(days=7)


class InviteError(Exception):
    """An invite that cannot be made or redeemed; the message is for the user."""


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def new_code() -> str:
    """A fresh code that fits a ``/start`` deep-link parameter (``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(12)


def create_invite(
    *,
    session: Session,
    role: Role,
    unit_code: str | None,
    created_by: str,
    ttl: timedelta = DEFAULT_INVITE_TTL,
    now: datetime | None = None,
) -> str:
    """Store a new invite and return its code (the only time the code exists in clear)."""
    if role is Role.ADMIN:
        unit_code = None
    elif not unit_code:
        raise InviteError(f"{role.label}的邀请码必须指定单位（--unit 单位编码）。")
    elif session.get(Unit, unit_code) is None:
        raise InviteError(f"没有编码为 {unit_code} 的单位。")
    if ttl <= timedelta(0):
        raise InviteError("有效期必须大于零。")
    now = now or utcnow()
    code = new_code()
    session.add(
        Invite(
            code_sha256=_digest(code),
            role=role.value,
            unit_code=unit_code,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return code


TELEGRAM = "telegram"


def _find(session: Session, channel: str, external_id: str) -> BotUser | None:
    return session.exec(
        select(BotUser)
        .where(col(BotUser.channel) == channel)
        .where(col(BotUser.external_id) == external_id)
    ).first()


def _telegram_number(channel: str, external_id: str) -> int | None:
    """The chat id of a Telegram user (the outbox sends notices to it)."""
    return int(external_id) if channel == TELEGRAM and external_id.isdigit() else None


def redeem_invite(
    *,
    session: Session,
    code: str,
    channel: str,
    external_id: str,
    now: datetime | None = None,
) -> BotUser:
    """Bind the user ``(channel, external_id)`` with the invite's role and unit; the code is
    spent (by one redemption only, even under concurrency)."""
    now = now or utcnow()
    digest = _digest(code)
    result = session.execute(
        update(Invite)
        .where(col(Invite.code_sha256) == digest)
        .where(col(Invite.used_at).is_(None))
        .where(col(Invite.expires_at) > now)
        .values(used_at=now, used_by=f"{channel}:{external_id}"[:100])
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        invite = session.exec(select(Invite).where(col(Invite.code_sha256) == digest)).first()
        if invite is None:
            raise InviteError("邀请码无效，请核对后重试，或向绩效办索取新的邀请码。")
        if invite.used_at is not None:
            raise InviteError("该邀请码已被使用过，每个邀请码只能使用一次。")
        raise InviteError("该邀请码已过期，请向绩效办索取新的邀请码。")
    invite = session.exec(select(Invite).where(col(Invite.code_sha256) == digest)).one()
    user = bind_user(
        session=session,
        channel=channel,
        external_id=external_id,
        role=Role(invite.role),
        unit_code=invite.unit_code,
        now=now,
    )
    user.invite_id = invite.id
    session.add(user)
    session.flush()
    return user


def find_user(*, session: Session, channel: str, external_id: str) -> BotUser | None:
    """The user bound on ``channel`` under ``external_id`` (a Telegram id's digits, a WeCom
    userid), if any."""
    return _find(session, channel, external_id)


def get_user(*, session: Session, telegram_id: int) -> BotUser | None:
    """The bound Telegram user, if any."""
    return _find(session, TELEGRAM, str(telegram_id))


def bind_user(
    *,
    session: Session,
    role: Role,
    unit_code: str | None = None,
    channel: str = TELEGRAM,
    external_id: str | None = None,
    telegram_id: int | None = None,
    now: datetime | None = None,
) -> BotUser:
    """Bind a user directly (an import of a directory, the demo, tests); rebinding changes
    the role and unit of the existing row. A Telegram user may be named by ``telegram_id``."""
    if external_id is None:
        if telegram_id is None:
            raise ValueError("bind_user needs external_id or telegram_id")
        channel, external_id = TELEGRAM, str(telegram_id)
    user = _find(session, channel, external_id) or BotUser(
        channel=channel,
        external_id=external_id,
        telegram_id=_telegram_number(channel, external_id),
        role=role.value,
    )
    user.role = role.value
    user.unit_code = None if role is Role.ADMIN else unit_code
    user.bound_at = now or utcnow()
    session.add(user)
    session.flush()
    return user


def list_users(*, session: Session) -> list[BotUser]:
    """Every bound user, by channel and id."""
    return list(
        session.exec(select(BotUser).order_by(col(BotUser.channel), col(BotUser.external_id))).all()
    )


def record_feedback(
    *, session: Session, channel: str, external_id: str, indicator_code: str, useful: bool
) -> None:
    """Store one 👍/👎."""
    session.add(
        AnswerFeedback(
            telegram_id=_telegram_number(channel, external_id),
            external_id=external_id[:64],
            indicator_code=indicator_code[:32],
            useful=useful,
            channel=channel,
        )
    )

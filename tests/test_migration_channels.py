"""Migration 0005 keeps the Telegram users, invites and feedback of a running installation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session, select

from db import users_store
from db.models import AnswerFeedback, Invite
from db.schema import upgrade
from db.session import make_engine
from db.users_store import Role


def test_upgrade_keeps_telegram_rows_and_opens_other_channels(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0004")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO unit (code, name, group_name, created_at, updated_at) "
                    "VALUES ('NB01', '第一税务所', '派出机构', :now, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO invite (code_sha256, role, unit_code, created_by, created_at, "
                    "expires_at, used_at, used_by) VALUES ('x', 'liaison', 'NB01', 'test', "
                    ":now, :now, :now, 601)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO bot_user (telegram_id, role, unit_code, bound_at, invite_id) "
                    "VALUES (601, 'liaison', 'NB01', :now, 1), (602, 'admin', NULL, :now, NULL)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO answer_feedback (telegram_id, indicator_code, useful, channel, "
                    "given_at) VALUES (601, 'DL-01', true, 'telegram', :now)"
                ),
                {"now": now},
            )
        upgrade(engine)
        with Session(engine) as session:
            liaison = users_store.get_user(session=session, telegram_id=601)
            assert liaison is not None
            assert (liaison.channel, liaison.external_id, liaison.role, liaison.unit_code) == (
                "telegram",
                "601",
                "liaison",
                "NB01",
            )
            assert users_store.find_user(session=session, channel="telegram", external_id="602")
            assert session.exec(select(Invite.used_by)).one() == "telegram:601"
            feedback = session.exec(select(AnswerFeedback)).one()
            assert (feedback.telegram_id, feedback.external_id) == (601, "601")
            wecom = users_store.bind_user(
                session=session,
                channel="wecom",
                external_id="601",
                role=Role.STAFF,
                unit_code="NB01",
            )
            session.commit()
            assert wecom.telegram_id is None
            assert len(users_store.list_users(session=session)) == 3
    finally:
        engine.dispose()

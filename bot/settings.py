"""Typed settings, read from the environment (prefix ``KPIBOT_``) and an optional ``.env``."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.rulebooks import SAMPLE_RULEBOOK


class Settings(BaseSettings):
    """Everything kpibot can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="KPIBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///kpibot.db",
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    sample_rulebook: Path = Field(
        default=SAMPLE_RULEBOOK,
        description="Rulebook loaded by `kpibot demo` when the database has none.",
    )
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    max_question_chars: int = Field(default=500, ge=10)
    learning_refresh_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How often a running bot looks for phrasings and synonyms added elsewhere.",
    )

    # Rectification notices (整改通报)
    notice_day: int = Field(default=1, ge=1, le=28, description="每月第几天发布上月通报")
    notice_time: time = Field(default=time(9, 0), description="发布时刻（本地时间）")
    timezone: str = Field(default="Asia/Shanghai")
    measures_deadline_days: int = Field(default=10, ge=0, le=90)
    ack_reminder_days: float = Field(default=3, ge=0, le=60)
    notice_catch_up_days: int = Field(default=3, ge=0, le=28)
    office_chat_ids: list[int] = Field(default_factory=list)
    send_rate_per_second: float = Field(default=30.0, gt=0, le=30)
    send_per_chat_interval: float = Field(default=1.0, ge=0)
    send_max_attempts: int = Field(default=5, ge=1, le=50)
    send_backoff_seconds: float = Field(default=30.0, ge=0)
    send_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_poll_seconds: float = Field(default=30.0, gt=0)
    follow_up_interval_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区：{value}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The time zone notices are scheduled in."""
        return ZoneInfo(self.timezone)


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with a command-line ``--db`` taking precedence."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings

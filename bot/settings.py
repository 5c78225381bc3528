"""Typed settings, read from the environment (prefix ``KPIBOT_``) and an optional ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    max_question_chars: int = Field(default=500, ge=10)


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with a command-line ``--db`` taking precedence."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings

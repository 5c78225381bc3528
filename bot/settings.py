"""Typed settings, read from the environment (prefix ``KPIBOT_``) and an optional ``.env``."""

from __future__ import annotations

import base64
import binascii
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

    matcher_cache_dir: Path | None = Field(
        default=None,
        description=(
            "Where prepared matchers (index + calibration, one file per rulebook version) are "
            "kept; default: next to a SQLite database, else ~/.cache/kpibot."
        ),
    )

    # The HTTP server of `kpibot run`: WeCom's callback, Telegram's webhook, a health check
    listen: str = Field(default="0.0.0.0:8443", description="HTTP 服务监听地址 host:port")

    # WeCom (企业微信 / 政务微信) self-built app (自建应用); the door runs when all five are set
    wecom_corp_id: str | None = Field(default=None, max_length=64, description="企业 ID")
    wecom_agent_id: int | None = Field(default=None, ge=0, description="应用 AgentId")
    wecom_secret: SecretStr | None = Field(default=None, description="应用 Secret")
    wecom_token: str | None = Field(default=None, max_length=64, description="接收消息 Token")
    wecom_aes_key: SecretStr | None = Field(default=None, description="接收消息 EncodingAESKey")
    wecom_base_url: str = Field(
        default="https://qyapi.weixin.qq.com",
        description="API 地址；政务微信私有化部署填写本单位的 API 地址",
    )
    wecom_callback_path: str = Field(default="/wecom/callback", pattern=r"^/[\w\-./]*$")
    wecom_max_clock_skew_seconds: int = Field(
        default=300, ge=10, le=3600, description="回调时间戳与本机时间允许的最大偏差"
    )
    wecom_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    wecom_markdown: bool = Field(
        default=True, description="以 markdown 和模板卡片回复；设为 false 则发纯文本、选项编号"
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

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"监听地址应为 host:port，例如 0.0.0.0:8443，而不是 {value!r}")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here with the standard library so that reading settings stays cheap; the
        # door's crypto decodes the same way (bot/wecom/crypto.py).
        if value is None:
            return None
        key = value.get_secret_value()
        if len(key) != 43:
            raise ValueError(f"EncodingAESKey 应为 43 个字符，实际 {len(key)} 个")
        try:
            decoded = base64.b64decode(key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey 不是合法的 Base64 字符串") from exc
        if len(decoded) != 32:
            raise ValueError("EncodingAESKey 解码后应为 32 字节")
        return value

    @property
    def listen_host(self) -> str:
        """The host part of :attr:`listen` (brackets of an IPv6 literal removed)."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        """The port part of :attr:`listen`."""
        return int(self.listen.rpartition(":")[2])

    @property
    def wecom_missing(self) -> list[str]:
        """The WeCom settings not given (all five are needed to run the door)."""
        values = {
            "KPIBOT_WECOM_CORP_ID": self.wecom_corp_id,
            "KPIBOT_WECOM_AGENT_ID": self.wecom_agent_id,
            "KPIBOT_WECOM_SECRET": self.wecom_secret,
            "KPIBOT_WECOM_TOKEN": self.wecom_token,
            "KPIBOT_WECOM_AES_KEY": self.wecom_aes_key,
        }
        return [name for name, value in values.items() if value is None or value == ""]

    @property
    def wecom_configured(self) -> bool:
        """Whether every WeCom setting is given, so ``kpibot run`` starts the WeCom door."""
        return not self.wecom_missing

    @property
    def matcher_cache(self) -> Path:
        """The directory of prepared matchers, shared by every process of this deployment."""
        if self.matcher_cache_dir is not None:
            return self.matcher_cache_dir
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix(prefix)).resolve().parent / "matcher-cache"
        return Path.home() / ".cache" / "kpibot" / "matcher"

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

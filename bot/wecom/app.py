"""The WeCom door's moving parts, built once from the settings: crypto, API client, inbox.

:class:`WecomApp` owns what lives as long as the server: the callback endpoint (mounted by
:mod:`bot.server`), the inbox workers that process messages after the callback is answered,
the API client and a periodic pruning of the once-only claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from starlette.routing import Route

from bot.settings import Settings
from bot.wecom.api import ApiConfig, WecomClient
from bot.wecom.callback import CallbackEndpoint, Handler, Inbox, SeenCallbacks
from bot.wecom.crypto import CallbackCrypto

logger = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 3600.0


def api_config(settings: Settings) -> ApiConfig:
    """The API client's configuration from the settings (which must be complete)."""
    if not settings.wecom_configured:
        raise ValueError("未配置企业微信：缺少 " + "、".join(settings.wecom_missing))
    assert settings.wecom_corp_id is not None
    assert settings.wecom_secret is not None
    assert settings.wecom_agent_id is not None
    return ApiConfig(
        base_url=settings.wecom_base_url,
        corp_id=settings.wecom_corp_id,
        secret=settings.wecom_secret.get_secret_value(),
        agent_id=settings.wecom_agent_id,
        timeout=settings.wecom_timeout_seconds,
    )


def callback_crypto(settings: Settings) -> CallbackCrypto:
    """The callback crypto from the settings (which must be complete)."""
    assert settings.wecom_token is not None
    assert settings.wecom_aes_key is not None
    assert settings.wecom_corp_id is not None
    return CallbackCrypto(
        settings.wecom_token, settings.wecom_aes_key.get_secret_value(), settings.wecom_corp_id
    )


@dataclass
class WecomApp:
    """The callback endpoint, its inbox and the API client of one WeCom app."""

    settings: Settings
    client: WecomClient
    seen: SeenCallbacks
    inbox: Inbox
    endpoint: CallbackEndpoint
    _pruner: asyncio.Task[None] | None = field(default=None, init=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: Engine,
        handler: Handler,
        *,
        client: WecomClient | None = None,
        workers: int = 8,
    ) -> WecomApp:
        """Everything the door needs, from settings, a database and what processes messages
        (the door, which sends through ``client``: one is made when none is given)."""
        config = api_config(settings)
        seen = SeenCallbacks(engine)
        inbox = Inbox(handler, workers=workers)
        endpoint = CallbackEndpoint(
            callback_crypto(settings),
            agent_id=config.agent_id,
            seen=seen,
            inbox=inbox,
            max_skew_seconds=settings.wecom_max_clock_skew_seconds,
        )
        return cls(settings, client or WecomClient(config), seen, inbox, endpoint)

    def routes(self) -> list[Route]:
        """The callback URL's route (GET verification, POST messages)."""
        return [
            Route(self.settings.wecom_callback_path, self.endpoint.handle, methods=["GET", "POST"])
        ]

    async def start(self) -> None:
        """Start the inbox workers and the hourly pruning (inside the running loop)."""
        self.inbox.start()
        self._pruner = asyncio.create_task(self._prune_forever())

    async def stop(self) -> None:
        """Finish queued messages briefly, stop the workers, close the client."""
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        await self.inbox.stop()
        await self.client.aclose()

    async def _prune_forever(self) -> None:
        while True:
            try:
                forgotten = await self.seen.prune()
                if forgotten:
                    logger.info("forgot %d old WeCom callback claims", forgotten)
            except Exception:
                logger.exception("pruning WeCom callback claims failed; trying again later")
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)

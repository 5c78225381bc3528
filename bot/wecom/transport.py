"""The WeCom transport of the notice outbox (:class:`scoring.outbox.Transport`).

A notice, reminder, escalation or digest goes to a WeCom user as markdown (or text); a notice
or reminder that asks for an answer is followed by a ``button_interaction`` card with
已阅 / 报送整改措施, whose keys are the core's button payloads, so a click comes back through
the callback like any other button. WeCom's answer becomes the outcome: certainly not taken
(no connection, frequency limits, the token) is retried later; a user outside the app's
visible range is blocked; a refusal of the request is failed; no answer, or a failure after
a first piece arrived, is uncertain and never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.wecom.api import (
    RateLimitedError,
    RecipientBlockedError,
    SendUncertainError,
    TokenError,
    WecomApiError,
    WecomClient,
    WecomUnavailableError,
)
from bot.wecom.directory import CHANNEL
from bot.wecom.render import (
    button_card,
    first_line,
    html_to_markdown,
    html_to_text,
    new_task_id,
)
from scoring.outbox import DeliveryOutcome, OutboundMessage

logger = logging.getLogger(__name__)

NOTICE_CARD_DESC = "请点击“已阅”确认，或报送整改措施"
PLAIN_NOTICE_HINT = "请发送 /notice 确认已阅或报送整改措施。"


NoticeButtons = Callable[[int], Sequence[tuple[str, str]]]  # notice id → (label, payload)


class WecomTransport:
    """Delivers outbox messages addressed to WeCom users through one app.

    ``buttons`` gives a notice's buttons as the core defines them (label, payload), so that
    a click comes back to the core as the same press a Telegram button would.
    """

    channel = CHANNEL

    def __init__(
        self, client: WecomClient, buttons: NoticeButtons, *, markdown: bool = True
    ) -> None:
        self.client = client
        self.buttons = buttons
        self.markdown = markdown

    async def deliver(self, message: OutboundMessage) -> DeliveryOutcome:
        """Send the message (text, then the card) and say what became of the whole."""
        user = message.to.address
        sent_any = False
        reference: str | None = None
        try:
            wants_answer = message.buttons and message.notice_id is not None
            if self.markdown:
                results = await self.client.send_markdown(user, html_to_markdown(message.text))
            else:
                text = html_to_text(message.text)
                results = await self.client.send_text(
                    user, f"{text}\n\n{PLAIN_NOTICE_HINT}" if wants_answer else text
                )
            sent_any = True
            reference = results[-1].msgid if results else None
            if self.markdown and wants_answer and message.notice_id is not None:
                card = button_card(
                    first_line(html_to_text(message.text)),
                    list(self.buttons(message.notice_id)),
                    task_id=new_task_id(f"nt{message.delivery_id}"),
                    desc=NOTICE_CARD_DESC,
                )
                reference = (await self.client.send_template_card(user, card)).msgid
        except Exception as exc:  # every failure becomes an outcome
            return self._failure(exc, partly_sent=sent_any)
        return DeliveryOutcome.sent(reference)

    @staticmethod
    def _failure(exc: Exception, *, partly_sent: bool) -> DeliveryOutcome:
        detail = f"{type(exc).__name__}: {exc}"
        if partly_sent:
            # Sending the whole again would repeat the pieces that arrived.
            return DeliveryOutcome.uncertain(f"部分送达后中断：{detail}")
        if isinstance(exc, RecipientBlockedError):
            return DeliveryOutcome.blocked(detail)
        if isinstance(exc, RateLimitedError):
            # WeCom's frequency limits are per minute: wait one out, it is no failure.
            return DeliveryOutcome.retry_later(detail, after=60.0, counts=False)
        if isinstance(exc, WecomUnavailableError | TokenError):
            return DeliveryOutcome.retry_later(detail)
        if isinstance(exc, WecomApiError):
            return DeliveryOutcome.failed(detail)
        if not isinstance(exc, SendUncertainError):
            logger.exception("WeCom transport: unexpected failure", exc_info=exc)
        # No answer, or something unforeseen after the request may have left: never again.
        return DeliveryOutcome.uncertain(detail)

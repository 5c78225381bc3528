"""The WeCom door: a callback's message to the core's dispatcher, its reply back to WeCom.

Nothing here decides what to answer. Text becomes a command (``/score GS06``, and
``绑定 CODE`` for ``/start CODE``, since WeCom has no start button) or free text; a click on a
template card becomes a button press with the button's key as its payload. The reply goes
out as markdown (or text), and its buttons on ``button_interaction`` cards. A reply that
replaces the pressed message updates the pressed card through its one-use response code; a
popup, which WeCom does not have, becomes a short text message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from bot.core.boundary import outgoing
from bot.core.dispatcher import (
    TOO_FAST,
    CommandCall,
    Press,
    Text,
    Unsupported,
    internal_error,
    new_error_id,
)
from bot.core.dispatcher import Message as CoreMessage
from bot.core.flood import Admission, FloodGate
from bot.core.reply import Reply, Show
from bot.services import Services
from bot.wecom.api import RecipientBlockedError, WecomApiError, WecomClient
from bot.wecom.directory import CHANNEL, wecom_external_id
from bot.wecom.messages import CardClick, Inbound, OtherMessage, TextMessage
from bot.wecom.render import (
    button_card,
    chunks,
    first_line,
    html_to_markdown,
    html_to_text,
    new_task_id,
)

logger = logging.getLogger(__name__)

# Invite codes are URL-safe base64 (db.users_store.new_code), so text such as 绑定这个指标
# is a question, not a code.
_BIND = re.compile(r"(?:绑定|綁定|bind)(?:\s+|\s*[:：]\s*)([A-Za-z0-9_\-]{3,64})", re.IGNORECASE)
_COMMAND_MARKS = ("/", "／")
CARD_PROMPT = "请选择"
DONE_LABEL = "已处理"
CHOOSE_BY_NUMBER = "请回复序号选择。"


def parse_text(content: str) -> CoreMessage:
    """A text message as the core's message: a command, a bind code, or free text."""
    stripped = content.strip()
    words = stripped[1:].split()
    if stripped.startswith(_COMMAND_MARKS) and words:
        return CommandCall(words[0].lower(), tuple(words[1:]))
    bind = _BIND.fullmatch(stripped)
    if bind is not None:
        return CommandCall("start", (bind.group(1),))
    return Text(content)


def as_core_message(inbound: Inbound) -> CoreMessage | None:
    """What the core gets for a callback message (None: nothing to do)."""
    if isinstance(inbound, TextMessage):
        return parse_text(inbound.content)
    if isinstance(inbound, CardClick):
        return Press(inbound.event_key) if inbound.event_key else None
    if isinstance(inbound, OtherMessage):
        return Unsupported()
    return None


def numbered(reply: Reply) -> str:
    """The reply as plain text, its buttons as numbered choices (the core takes a number
    typed back as the choice it offered)."""
    text = html_to_text(reply.text)
    if not reply.buttons:
        return text
    choices = "\n".join(f"{n}. {b.label}" for n, b in enumerate(reply.buttons, start=1))
    return f"{text}\n\n{choices}\n{CHOOSE_BY_NUMBER}"


class WecomDoor:
    """Serves the messages of one WeCom app through the core."""

    def __init__(
        self,
        services: Services,
        client: WecomClient,
        *,
        markdown: bool = True,
        flood_gate: FloodGate | None = None,
    ) -> None:
        self.services = services
        self.client = client
        self.markdown = markdown
        self.flood_gate = flood_gate or FloodGate()

    async def handle(self, inbound: Inbound) -> None:
        """Process one callback message (the inbox's handler); never raises."""
        message = as_core_message(inbound)
        if message is None:
            return
        admission = self.flood_gate.admit(inbound.user_id)
        if admission is not Admission.HANDLE:
            logger.info("flood: dropped a WeCom message")
            if admission is Admission.DROP_AND_WARN:
                with contextlib.suppress(Exception):
                    await self.client.send_text(inbound.user_id, outgoing(TOO_FAST))
            return
        user = wecom_external_id(inbound.user_id)
        try:
            reply = await asyncio.to_thread(self.services.dispatcher.handle, CHANNEL, user, message)
            await self.send_reply(inbound, reply)
        except RecipientBlockedError:
            logger.warning("WeCom user outside the app's visible range; reply not delivered")
        except Exception:
            error_id = new_error_id()
            logger.exception("error %s while handling a WeCom message", error_id)
            try:
                await self.client.send_text(inbound.user_id, internal_error(error_id).plain)
            except Exception:
                logger.warning("could not tell the user about error %s", error_id)

    async def send_reply(self, inbound: Inbound, reply: Reply) -> None:
        """Send the core's reply as WeCom messages."""
        user = inbound.user_id
        if isinstance(inbound, CardClick) and reply.show is Show.POPUP:
            await self.client.send_text(user, html_to_text(reply.text))
            return
        if not self.markdown:
            await self.client.send_text(user, numbered(reply))
            return
        if reply.text.strip():
            await self.send_text(user, reply.text)
        replaced = (
            isinstance(inbound, CardClick)
            and reply.show is Show.REPLACE
            and await self._update_card(inbound, reply)
        )
        if not replaced:
            await self.send_cards(user, reply)

    async def send_text(self, user: str, html_text: str) -> None:
        """The reply's text as markdown."""
        await self.client.send_markdown(user, html_to_markdown(html_text))

    async def send_cards(self, user: str, reply: Reply, *, task_prefix: str = "r") -> list[str]:
        """The reply's buttons on cards of at most six; the response codes of the cards."""
        buttons = [(button.label, button.data) for button in reply.buttons]
        codes: list[str] = []
        for group in chunks(buttons):
            card = button_card(
                first_line(html_to_text(reply.text)) or CARD_PROMPT,
                group,
                task_id=new_task_id(task_prefix),
                desc=CARD_PROMPT,
            )
            sent = await self.client.send_template_card(user, card)
            if sent.response_code:
                codes.append(sent.response_code)
        return codes

    async def _update_card(self, click: CardClick, reply: Reply) -> bool:
        """Replace the pressed card: its buttons by the reply's, or greyed out when it has
        none. False when WeCom refuses (the response code is spent or too old)."""
        if not click.response_code:
            return False
        buttons = [(button.label, button.data) for button in reply.buttons]
        try:
            if not buttons:
                await self.client.update_template_card(
                    [click.user_id], click.response_code, replace_name=DONE_LABEL
                )
                return True
            if len(buttons) > 6:
                return False
            card = button_card(
                first_line(html_to_text(reply.text)) or CARD_PROMPT,
                buttons,
                task_id=click.task_id or new_task_id("r"),
                desc=CARD_PROMPT,
            )
            await self.client.update_template_card([click.user_id], click.response_code, card=card)
            return True
        except WecomApiError as exc:
            logger.info("WeCom card not updated (%s); sending a new one", exc.errcode)
            return False

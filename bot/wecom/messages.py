"""What WeCom sends to the application's callback, as typed values.

Parsing is strict about shape and lenient about extras. A user's message that is not text
(an image, a voice note) is :class:`OtherMessage`, so the door can say it reads only text;
events other than a card click (entering the app, menus) and types the door does not know
come back as :class:`Ignored`, so the callback logs them and processes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_BODY_BYTES = 64 * 1024  # WeCom's callbacks are a few hundred bytes; text is ≤ 2048 bytes


class MalformedXmlError(ValueError):
    """The body is not the XML WeCom sends."""


def parse_xml(text: str | bytes) -> Element:
    """The root of a WeCom XML document; refuses DTDs, entities and oversized input."""
    if len(text) > MAX_BODY_BYTES:
        raise MalformedXmlError("XML too large")
    try:
        return ElementTree.fromstring(text, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedXmlError(str(exc)) from exc


def _field(root: Element, name: str) -> str:
    return (root.findtext(name) or "").strip()


@dataclass(frozen=True)
class Envelope:
    """The outer, unencrypted XML of a POSTed callback."""

    to_user: str
    encrypt: str
    agent_id: str


def parse_envelope(body: bytes) -> Envelope:
    """The envelope; an absent ``Encrypt`` is empty (its signature cannot match)."""
    root = parse_xml(body)
    return Envelope(_field(root, "ToUserName"), _field(root, "Encrypt"), _field(root, "AgentID"))


@dataclass(frozen=True)
class Inbound:
    """Something a user did in the app: who, when, for which app, and its once-only key."""

    user_id: str
    create_time: int
    agent_id: int | None

    @property
    def key(self) -> str:
        """The key a retried or replayed callback is recognised by."""
        raise NotImplementedError


@dataclass(frozen=True)
class TextMessage(Inbound):
    """A text message (``MsgType`` text)."""

    content: str
    msg_id: str

    @property
    def key(self) -> str:
        """WeCom's message id."""
        return f"msg:{self.msg_id}"


@dataclass(frozen=True)
class CardClick(Inbound):
    """A button pressed on a template card (``template_card_event``)."""

    event_key: str
    task_id: str
    card_type: str
    response_code: str

    @property
    def key(self) -> str:
        """Events carry no MsgId: the sender, the time and what was pressed identify one."""
        return f"card:{self.user_id}:{self.create_time}:{self.task_id}:{self.event_key}"


@dataclass(frozen=True)
class OtherMessage(Inbound):
    """A message a user sent that is not text (an image, a voice note, a file …)."""

    kind: str
    msg_id: str

    @property
    def key(self) -> str:
        """WeCom's message id."""
        return f"msg:{self.msg_id}"


USER_MESSAGE_TYPES = frozenset({"image", "voice", "video", "file", "location", "link"})


@dataclass(frozen=True)
class Ignored(Inbound):
    """A message or event the door does not serve; kept only to be logged."""

    kind: str

    @property
    def key(self) -> str:
        """Not claimed: nothing is processed."""
        return f"ignored:{self.user_id}:{self.create_time}:{self.kind}"


def parse_message(plain: str) -> Inbound:
    """The decrypted XML of a callback as a message; :class:`MalformedXmlError` if it is not one."""
    root = parse_xml(plain.encode("utf-8"))
    user_id = _field(root, "FromUserName")
    msg_type = _field(root, "MsgType")
    created = _field(root, "CreateTime")
    agent = _field(root, "AgentID")
    if not user_id or not msg_type or not created.isdigit():
        raise MalformedXmlError("FromUserName, MsgType or CreateTime missing")
    create_time = int(created)
    agent_id = int(agent) if agent.isdigit() else None
    if msg_type == "text":
        msg_id = _field(root, "MsgId")
        if not msg_id:
            raise MalformedXmlError("text message without MsgId")
        content = root.findtext("Content") or ""
        return TextMessage(user_id, create_time, agent_id, content=content, msg_id=msg_id)
    if msg_type == "event":
        event = _field(root, "Event")
        if event == "template_card_event":
            return CardClick(
                user_id,
                create_time,
                agent_id,
                event_key=_field(root, "EventKey"),
                task_id=_field(root, "TaskId"),
                card_type=_field(root, "CardType"),
                response_code=_field(root, "ResponseCode"),
            )
        return Ignored(user_id, create_time, agent_id, kind=f"event:{event or '?'}")
    msg_id = _field(root, "MsgId")
    if msg_type in USER_MESSAGE_TYPES and msg_id:
        return OtherMessage(user_id, create_time, agent_id, kind=msg_type, msg_id=msg_id)
    return Ignored(user_id, create_time, agent_id, kind=msg_type)

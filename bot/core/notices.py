"""The notice commands and buttons of the core, over the notice lifecycle.

The lifecycle itself (run a month, remind, escalate, the outbox) is
:class:`scoring.rectification.Rectification`; this module only turns ``/notices``, ``/notice``,
已阅, 报送整改措施 and the measures typed after it into replies.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.access import Caller, may_answer_notice
from bot.core.errors import UserError
from bot.core.reply import Button, Reply, Show
from bot.services import Services
from db.outbox_store import Address
from scoring.periods import Period
from scoring.rectification import NoticeError

ACK_LABEL, MEASURES_LABEL = "已阅", "报送整改措施"


def notice_buttons(notice_id: int) -> tuple[tuple[Button, ...], ...]:
    """已阅 and 报送整改措施 under a notice or its reminder."""
    return (
        (Button(ACK_LABEL, f"nt:ack:{notice_id}"), Button(MEASURES_LABEL, f"nt:m:{notice_id}")),
    )


def _may_answer(caller: Caller) -> Callable[[str], bool]:
    """The door's permission check, for the lifecycle."""
    return lambda unit_code: may_answer_notice(caller, unit_code)


def _user_id(caller: Caller) -> int:
    """The id recorded as who answered (bound users only)."""
    if caller.user_id is None:
        raise UserError("抱歉，只有该单位的绩效联络员可以答复此通报。")
    return caller.user_id


def _month(services: Services, text: str | None) -> Period:
    rectification = services.rectification
    try:
        return rectification.parse_month(text) if text else rectification.default_month()
    except NoticeError as exc:
        raise UserError(str(exc)) from exc


def digest(services: Services, month_text: str | None) -> Reply:
    """The office's digest of a month's notices."""
    month = _month(services, month_text)
    rectification = services.rectification
    return Reply(rectification.digest_html(rectification.digest(month)))


def unit_notice(services: Services, caller: Caller, month_text: str | None) -> Reply:
    """The caller's unit's notice of a month, with its buttons for whoever may answer it."""
    from db import notices_store

    month = _month(services, month_text)
    with services.session() as session:
        found = [
            n
            for n in notices_store.notices_for_month(session=session, month=month.code)
            if n.unit_code.upper() == (caller.unit_code or "").upper()
        ]
        if not found:
            return Reply(f"本单位（{caller.unit_code}）{month.label}没有整改通报。")
        notice = found[0]
        assert notice.id is not None
        text, notice_id, unit = notice.text, notice.id, notice.unit_code
    rows = notice_buttons(notice_id) if may_answer_notice(caller, unit) else ()
    return Reply(text, rows)


def acknowledge(services: Services, caller: Caller, notice_id: int) -> Reply:
    """已阅."""
    try:
        answer = services.rectification.acknowledge(
            notice_id,
            user_id=_user_id(caller),
            may_answer=_may_answer(caller),
            address=Address(caller.channel, caller.external_id),  # 已阅 proves this copy arrived
        )
    except NoticeError as exc:
        raise UserError(str(exc)) from exc
    return Reply(answer, show=Show.POPUP)


def ask_for_measures(services: Services, caller: Caller, notice_id: int) -> Reply:
    """报送整改措施: check the caller may answer, then ask for the text."""
    try:
        label = services.rectification.check_answerable(notice_id, may_answer=_may_answer(caller))
    except NoticeError as exc:
        raise UserError(str(exc)) from exc
    return Reply(services.renderer.html("notice_measures_prompt.html.j2", label=label))


def store_measures(services: Services, caller: Caller, notice_id: int, text: str) -> Reply:
    """The measures typed after 报送整改措施, stored and confirmed."""
    try:
        confirmation = services.rectification.store_measures(
            notice_id,
            text,
            user_id=_user_id(caller),
            may_answer=_may_answer(caller),
            address=Address(caller.channel, caller.external_id),
        )
    except NoticeError as exc:
        raise UserError(str(exc)) from exc
    return Reply(confirmation)

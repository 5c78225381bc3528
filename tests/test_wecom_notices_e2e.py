"""End to end: a monthly rectification notice delivered by the outbox to a liaison bound
through WeCom (by a directory import), answered with 已阅 and 报送整改措施 on its template card,
through the real ``kpibot run`` serving only WeCom."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from tests.cli_helpers import kpibot
from tests.fake_wecom_api import Call, FakeWecomApi, WecomUser
from tests.notices_helpers import seed_month
from tests.wecom_helpers import free_port, kpibot_run, wecom_env

LIAISON, STAFF = "liaison_nb03", "staff_nb03"


@pytest.fixture
def door(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeWecomApi, WecomUser]]:
    monkeypatch.delenv("KPIBOT_TELEGRAM_TOKEN", raising=False)
    services = Services(Settings(database_url=database_url))
    seed_month(services, liaisons=False)
    services.close()
    members = tmp_path / "members.csv"
    members.write_text(
        f"账号,姓名,单位,角色\n{LIAISON},联络员甲,NB03,绩效联络员\n{STAFF},职工乙,NB03,干部职工\n",
        encoding="utf-8",
    )
    imported = kpibot(database_url, "users", "import", str(members))
    assert imported.code == 0, imported.err
    issued = kpibot(database_url, "remind", "--month", "2026-02", "--no-send")
    assert issued.code == 0, issued.err
    port = free_port()
    with (
        FakeWecomApi() as api,
        kpibot_run(wecom_env(database_url, api, port), tmp_path, port) as run,
    ):
        yield api, WecomUser(run.callback_url)


def replies(api: FakeWecomApi, user: str, start: int, count: int = 1) -> list[Call]:
    return api.wait_for(user, start, count=count, timeout=30)


def test_liaison_acknowledges_and_reports_measures_on_a_card(
    door: tuple[FakeWecomApi, WecomUser], database_url: str
) -> None:
    api, wecom = door
    # The running process's outbox delivers the queued notice to the WeCom liaison.
    text, card = replies(api, LIAISON, 0, count=2)
    assert text.content.startswith("**【整改通报】2026年2月 · 第三税务所**")
    assert "[证件号已隐去]" in text.content  # masked on the way out, as in every door
    assert card.msgtype == "template_card"
    (ack_label, ack), (measures_label, measures) = card.buttons
    assert (ack_label, measures_label) == ("已阅", "报送整改措施")

    # Staff of the unit see the notice but may not answer it, not even with a forged click.
    mark = api.mark()
    wecom.say(STAFF, "/notice 2026-02")
    (staff_text,) = replies(api, STAFF, mark)
    assert "【整改通报】2026年2月" in staff_text.content
    mark = api.mark()
    wecom.click(STAFF, ack, card.task_id, api.issue_response_code(STAFF))
    (refused,) = replies(api, STAFF, mark)
    assert refused.msgtype == "text"
    assert refused.content.startswith("抱歉")

    mark = api.mark()
    wecom.click(LIAISON, ack, card.task_id, api.issue_response_code(LIAISON))
    (acknowledged,) = replies(api, LIAISON, mark)
    assert acknowledged.content.startswith("已确认阅读2026年2月整改通报")

    mark = api.mark()
    wecom.click(LIAISON, measures, card.task_id, api.issue_response_code(LIAISON))
    (prompt,) = replies(api, LIAISON, mark)
    assert "请直接回复一条文字消息" in prompt.content
    mark = api.mark()
    wecom.say(LIAISON, "加强申报辅导，每周复核逾期清单。")
    (stored,) = replies(api, LIAISON, mark)
    assert stored.content.startswith("已收到您报送的2026年2月")

    digest = kpibot(database_url, "notices", "list", "--month", "2026-02")
    assert digest.code == 0, digest.err
    assert "已阅：是" in digest.out
    assert "整改措施：已报送" in digest.out

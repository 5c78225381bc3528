"""``kpibot remind`` and ``kpibot notices list``."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.services import Services
from bot.settings import Settings
from db.models import Notice, NoticeDelivery
from db.session import make_engine
from scoring import entry
from tests.cli_helpers import kpibot
from tests.fake_bot_api import FakeBotApi
from tests.notices_helpers import LIAISON2_NB03, LIAISON_GS01, LIAISON_NB03, seed_month

RUN_DAY = ("--today", "2026-03-02")


@pytest.fixture
def seeded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("KPIBOT_TELEGRAM_TOKEN", "KPIBOT_TELEGRAM_BASE_URL", "KPIBOT_OFFICE_CHAT_IDS"):
        monkeypatch.delenv(name, raising=False)
    services = Services(Settings(database_url=database_url))
    seed_month(services)
    services.close()
    return database_url


def _rows(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return (
                session.exec(select(func.count()).select_from(Notice)).one(),
                session.exec(select(func.count()).select_from(NoticeDelivery)).one(),
            )
    finally:
        engine.dispose()


def test_dry_run_prints_what_and_to_whom_and_writes_nothing(seeded: str) -> None:
    run = kpibot(seeded, "remind", "--month", "2026-02", "--dry-run", *RUN_DAY)
    assert run.code == 0, run.err
    assert "2026年2月整改通报（试运行，未写入任何数据）：末位或预警单位 2 个" in run.out
    assert f"第三税务所（NB03）97.00 分 → 绩效联络员 {LIAISON_NB03}、{LIAISON2_NB03}" in run.out
    assert f"—— 发往 {LIAISON_GS01}（GS01 绩效联络员）——" in run.out
    assert "未配置绩效办会话" in run.out
    assert "32050619900101123X" not in run.out
    assert _rows(seeded) == (0, 0)


def test_remind_queues_for_the_running_bot_and_repeats_harmlessly(seeded: str) -> None:
    run = kpibot(seeded, "remind", "--month", "2026-02", *RUN_DAY)
    assert run.code == 0, run.err
    assert "新加入发送队列 3 条（通报 3 条）" in run.out
    assert "将由运行中的机器人（kpibot run）发出" in run.out
    again = kpibot(seeded, "remind", "--month", "2026-02", *RUN_DAY)
    assert "新加入发送队列 0 条" in again.out
    assert _rows(seeded) == (2, 3)


def test_remind_sends_directly_when_a_bot_is_configured(
    seeded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeBotApi() as api:
        api.block(LIAISON_GS01)
        monkeypatch.setenv("KPIBOT_TELEGRAM_TOKEN", "4242:CLI-TOKEN")
        monkeypatch.setenv("KPIBOT_TELEGRAM_BASE_URL", api.base_url)
        monkeypatch.setenv("KPIBOT_OFFICE_CHAT_IDS", "[-100500]")
        run = kpibot(seeded, "remind", "--month", "2026-02", *RUN_DAY)
        assert run.code == 0, run.err
        assert "已发送 3 条，失败 0 条，对方已屏蔽 1 条" in run.out
        assert len(api.sent_to(LIAISON_NB03)) == 1
        assert api.sent_to(-100500)[0].text.startswith("<b>2026年2月整改通报汇总</b>")
    listed = kpibot(seeded, "notices", "list", "--month", "2026-02", "--json", *RUN_DAY)
    data = json.loads(listed.out)
    gs01 = next(n for n in data["notices"] if n["unit"] == "GS01")
    assert gs01["recipients"] == [
        {"channel": "telegram", "address": str(LIAISON_GS01), "status": "blocked"}
    ]
    assert (gs01["score"], gs01["acknowledged"], gs01["overdue"]) == (82.0, False, False)


def test_the_digest_says_whether_last_months_bottom_left_it(seeded: str) -> None:
    assert kpibot(seeded, "remind", "--month", "2026-02", *RUN_DAY).code == 0
    engine = make_engine(seeded)
    with Session(engine) as session:
        for unit in ("NB01", "NB03"):
            entry.add_entry(
                session=session,
                unit=unit,
                indicator="JF-01",
                points="1",
                entry_date=date(2026, 3, 5),
                note="表扬",
                entered_by="test",
                today=date(2026, 4, 1),
            )
        session.commit()
    engine.dispose()
    listed = kpibot(seeded, "notices", "list", "--month", "2026-03", "--today", "2026-04-01")
    assert listed.code == 0, listed.err
    assert "上月末位单位本月情况" in listed.out
    assert "第三税务所（NB03）：已脱离末位" in listed.out
    assert "办公室（GS01）：已脱离末位" in listed.out
    data = json.loads(
        kpibot(seeded, "notices", "list", "-m", "2026-02", "--json", "--today", "2026-03-20").out
    )
    assert all(n["overdue"] for n in data["notices"])  # deadline 2026-03-12 has passed


def test_a_bad_month_is_refused(seeded: str) -> None:
    run = kpibot(seeded, "remind", "--month", "2026-Q1")
    assert run.code == 1
    assert "请写月份" in run.err


def test_remind_refuses_a_running_or_empty_month_and_list_says_never_run(seeded: str) -> None:
    running = kpibot(seeded, "remind", "--month", "2026-03", "--dry-run", "--today", "2026-03-20")
    assert running.code == 1
    assert "2026年3月尚未结束（截至 2026-03-20，月末为 2026-03-31）" in running.err
    empty = kpibot(seeded, "remind", "--month", "2026-01", "--dry-run", *RUN_DAY)
    assert empty.code == 1
    assert "2026年1月：本期尚无考核数据" in empty.err
    assert _rows(seeded) == (0, 0)
    never = kpibot(seeded, "notices", "list", "--month", "2026-01", *RUN_DAY)
    assert never.code == 0, never.err
    assert "本月整改通报尚未发布" in never.out
    assert "无末位" not in never.out
    listed = json.loads(
        kpibot(seeded, "notices", "list", "--month", "2026-01", "--json", *RUN_DAY).out
    )
    assert (listed["issued"], listed["notices"]) == (False, [])

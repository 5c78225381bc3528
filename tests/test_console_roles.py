"""``kpibot chat --as …``: the console offers each role what the bot does, with the same checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from db.models import LedgerEntry
from db.session import make_engine
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK

UNITS = "编码,名称,分组\nNB01,第一税务所,派出机构\nNB02,第二税务所,派出机构\nGS01,办公室,股室\n"


@pytest.fixture
def loaded(database_url: str, tmp_path: Path) -> str:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    assert kpibot(database_url, "units", "import", str(units)).code == 0
    return database_url


def entries(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(LedgerEntry)).one()
    finally:
        engine.dispose()


def chat(database_url: str, as_: str | None, *lines: str) -> str:
    args = ["chat"] + (["--as", as_] if as_ else [])
    run = kpibot(database_url, *args, stdin="\n".join([*lines, "/quit"]) + "\n")
    assert run.code == 0, run.err
    return run.out


def test_anonymous_may_ask_but_not_see_scores(loaded: str) -> None:
    out = chat(loaded, None, "/help", "/score", "/add NB01 KF-02 0.5 x", "纳税人满意度怎么算")
    assert "/ask" in out
    assert "/score　" not in out
    assert "/start　" in out  # the same help in every door
    assert "仅向已绑定单位的用户开放" in out  # /score
    assert "仅限绩效办使用" in out  # /add
    assert "【DL-04】纳税人满意度" in out
    assert entries(loaded) == 0


def test_staff_sees_own_unit_only_and_no_admin_commands(loaded: str) -> None:
    empty = chat(loaded, "staff:NB01", "/score 2026-03")
    assert "2026年3月：本期尚无考核数据，暂不发布排名。" in empty
    added = kpibot(
        loaded, "ledger", "add", "NB02", "JF-01", "1", "--date", "2026-03-10", "--note", "表扬"
    )
    assert added.code == 0, added.err
    out = chat(
        loaded,
        "staff:NB01",
        "/score 2026-03",
        "/score NB02 2026-03",
        "/rank 2026-03",
        "/add NB01 KF-02 0.5 有效投诉",
    )
    assert "当前身份：" in out
    assert "（NB01）" in out
    assert "第一税务所" in out
    assert "（末位）" in out  # NB02's bonus leaves NB01 last of its group
    assert "仅限绩效办使用" in out
    assert entries(loaded) == 1  # the office's entry only: /add was refused


def test_admin_adds_after_confirming_with_a_number(loaded: str) -> None:
    out = chat(
        loaded,
        "admin",
        "/add NB01 KF-02 0.5 有效投诉一件",
        "2",
        "/add NB01 KF-02 0.5 有效投诉一件",
        "1",
        "/score NB01",
    )
    assert "请确认录入以下台账记录" in out
    assert "已取消，未录入任何数据。" in out
    assert entries(loaded) == 1
    assert "有效投诉一件" in out or "KF-02" in out


def test_admin_imports_a_file_from_the_console(loaded: str, tmp_path: Path) -> None:
    ledger = tmp_path / "台账.csv"
    ledger.write_bytes("日期,单位,指标,分值,编号\n2026-03-02,NB02,JF-01,2,X-1\n".encode("gbk"))
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,单位,指标,分值\n2026-03-02,ZZ99,JF-01,2\n", encoding="utf-8")
    out = chat(loaded, "admin", f"/import {ledger}", f"/import {bad}", "/import /no/such.csv")
    assert "已导入积分台账：台账.csv" in out
    assert "未知单位“ZZ99”" in out
    assert "找不到文件" in out
    assert entries(loaded) == 1
    out = chat(loaded, "staff:NB01", f"/import {ledger}")
    assert "仅限绩效办使用" in out
    assert entries(loaded) == 1


@pytest.mark.parametrize(
    ("as_", "message"),
    [
        ("staff", "需要指定单位"),
        ("staff:ZZ99", "未知单位“ZZ99”"),
        ("boss", "--as 应为"),
        ("424242", "尚未绑定身份"),
    ],
)
def test_bad_as_values_are_explained(loaded: str, as_: str, message: str) -> None:
    run = kpibot(loaded, "chat", "--as", as_, stdin="")
    assert run.code == 1
    assert message in run.err

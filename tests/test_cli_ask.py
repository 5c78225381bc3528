"""``kpibot ask``, ``kpibot report unanswered`` and the console chat, on the sample rulebook."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK


@pytest.fixture
def loaded(database_url: str) -> str:
    run = kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    assert run.code == 0, run.err
    return database_url


def test_ask_prints_the_whole_card(loaded: str) -> None:
    run = kpibot(loaded, "ask", "稅收收入完成率怎麼算")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == "【DL-01】税收收入完成率"
    assert lines[1].startswith("类型：定量指标｜满分 ")
    for heading in ("评分标准", "绩效办解读", "股室解读", "派出机构解读", "常见问题"):
        assert heading in lines
    assert any(line.startswith("问：") for line in lines)


def test_ask_json_answer_clarify_none(loaded: str) -> None:
    answer = json.loads(kpibot(loaded, "ask", "--json", "非接触式办税推广率怎么考核").out)
    assert answer["status"] == "answer"
    assert answer["question"] == "非接触式办税推广率怎么考核"
    assert [m["code"] for m in answer["matches"]] == ["DL-03"]
    assert set(answer["matches"][0]) == {"code", "name", "score"}

    clarify = json.loads(kpibot(loaded, "ask", "--json", "12366").out)
    assert clarify["status"] == "clarify"
    codes = [m["code"] for m in clarify["matches"]]
    assert 2 <= len(codes) <= 5
    assert {"DL-05", "KF-03"} <= set(codes)
    scores = [m["score"] for m in clarify["matches"]]
    assert scores == sorted(scores, reverse=True)

    none = json.loads(kpibot(loaded, "ask", "--json", "食堂今天吃什么").out)
    assert none == {"question": "食堂今天吃什么", "status": "none", "matches": []}


def test_ask_reads_one_question_per_line_from_stdin(loaded: str) -> None:
    questions = ["满义度调查怎么算", "", "天气怎么样", "１２３６６工单超时扣几分？"] * 50
    run = kpibot(loaded, "ask", "--json", stdin="\n".join(questions) + "\n")
    assert run.code == 0
    results = [json.loads(line) for line in run.out.splitlines()]
    assert len(results) == 150
    assert [r["status"] for r in results[:3]] == ["answer", "none", "answer"]
    assert results[0]["matches"][0]["code"] == "DL-04"
    assert results[2]["matches"][0]["code"] == "KF-03"


def test_unanswered_questions_are_logged_and_grouped(loaded: str) -> None:
    for question in ("食堂几点开饭", "食堂几点开饭？", "食堂几点开饭啊", "12366", "年假怎么请"):
        kpibot(loaded, "ask", question)
    kpibot(loaded, "ask", "纳税人满意度怎么算")  # answered: not logged
    report = json.loads(kpibot(loaded, "report", "unanswered", "--json").out)
    assert [(g["question"], g["count"]) for g in report] == [
        ("食堂几点开饭", 3),
        ("12366", 1),
        ("年假怎么请", 1),
    ]
    assert report[1]["statuses"] == {"clarify": 1}
    assert "KF-03" in report[1]["candidates"]
    text = kpibot(loaded, "report", "unanswered").out
    assert "共 5 条，3 组" in text
    assert "[3 次] 食堂几点开饭（未覆盖 3）" in text


def test_ask_without_a_rulebook_says_what_to_do(database_url: str) -> None:
    run = kpibot(database_url, "ask", "税收收入完成率")
    assert run.code == 1
    assert "尚未导入考评指标细则" in run.err


def test_ask_rejects_an_empty_question(loaded: str) -> None:
    run = kpibot(loaded, "ask", "   ")
    assert run.code == 1
    assert "问题为空" in run.err


def test_ask_survives_a_huge_message(loaded: str) -> None:
    run = kpibot(loaded, "ask", "--json", "您好" * 5000 + "信访投诉怎么扣分")
    assert run.code == 0
    assert json.loads(run.out)["status"] in {"answer", "clarify", "none"}


def test_demo_loads_the_sample_and_chats_over_stdin(database_url: str) -> None:
    run = kpibot(database_url, "demo", stdin="纳税人满义度\n食堂吃什么\n12366\n9\n1\n/quit\n")
    assert run.code == 0, run.err
    out = run.out
    assert "已载入示例细则《某区税务局绩效考评指标细则（2026年版）》，共 48 项指标。" in out
    assert "【DL-04】纳税人满意度" in out
    assert "考评指标细则中没有找到" in out
    assert "您是想问以下哪一项？" in out
    assert "  [1] " in out
    assert "请输入 1 到 " in out
    assert out.count("派出机构解读") == 2  # the card, then the chosen candidate's card
    assert out.rstrip().endswith("再见！")
    again = kpibot(database_url, "demo", stdin="")
    assert "已载入示例细则" not in again.out

"""One strict number parser: the corpus, a property, and every door a number comes through."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from knowledge.files import InputError
from knowledge.numbers import MAX_POINTS, NumberError, parse_number
from knowledge.rulebook_files import read_rulebook
from tests.cli_helpers import kpibot
from tests.conftest import DATA
from tests.scoring_helpers import TODAY_ARG, counts, ledger, setup_units, write_csv, write_xlsx

CORPUS: dict[str, list[list[str]]] = yaml.safe_load(
    (DATA / "numbers.yaml").read_text(encoding="utf-8")
)
ACCEPTED = [tuple(case) for case in CORPUS["accepted"]]
REFUSED = [tuple(case) for case in CORPUS["refused"]]
HEADER = ["日期", "单位", "指标", "分值", "说明"]
FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


def test_the_corpus_is_large_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 100


@pytest.mark.parametrize(("written", "value"), ACCEPTED)
def test_plain_numbers_are_read_exactly(written: str, value: str) -> None:
    parsed = parse_number(written, limit=MAX_POINTS)
    assert (parsed, str(parsed)) == (Decimal(value), value)


@pytest.mark.parametrize(("written", "reason"), REFUSED)
def test_everything_else_is_refused_with_value_and_reason(written: str, reason: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_number(written, limit=MAX_POINTS)
    assert reason in str(caught.value)
    if written.strip():
        assert f"“{written.strip()[:32]}" in str(caught.value)


@given(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False))
def test_any_two_decimal_value_round_trips_in_ascii_and_full_width(value: Decimal) -> None:
    written = format(value, "f")
    assert parse_number(written, limit=MAX_POINTS) == value
    assert parse_number(written.translate(FULL_WIDTH), limit=MAX_POINTS) == value


@given(st.text(max_size=40))
def test_any_text_is_a_plain_number_or_a_number_error(text: str) -> None:
    outcome: Decimal | NumberError
    try:
        outcome = parse_number(text)
    except NumberError as exc:
        outcome = exc
    if isinstance(outcome, NumberError):
        assert str(outcome).endswith(outcome.reason)
    else:
        folded = text.strip(" \t\r\n\u3000\u00a0\ufeff").translate(
            str.maketrans("０１２３４５６７８９．＋－−", "0123456789.+--")
        )
        assert outcome == Decimal(folded)


# ---------------------------------------------------------------- the CLI and real files


def test_ledger_import_stores_every_accepted_spelling_exactly(
    database_url: str, tmp_path: Path
) -> None:
    setup_units(database_url, tmp_path)
    cases = [(w, v) for w, v in ACCEPTED if Decimal(v) != 0]
    rows = [
        HEADER,
        *(["2026-04-05", "GS01", "KF-01", w, f"第{i}条"] for i, (w, _) in enumerate(cases)),
    ]
    run = ledger(database_url, write_csv(tmp_path / "good.csv", rows))
    assert run.code == 0, run.err
    listed = json.loads(kpibot(database_url, "ledger", "list", "--json").out)
    stored = {e["note"]: Decimal(str(e["points"])) for e in listed}
    assert stored == {f"第{i}条": Decimal(v) for i, (_, v) in enumerate(cases)}


@pytest.mark.parametrize("start", range(0, len(REFUSED), 25))
def test_ledger_import_names_line_field_and_value_of_each_refused_spelling(
    database_url: str, tmp_path: Path, start: int
) -> None:
    setup_units(database_url, tmp_path)
    chunk = [(w, r) for w, r in REFUSED[start : start + 25] if w.strip()]
    rows = [HEADER, *(["2026-04-05", "GS01", "KF-01", w, "x"] for w, _ in chunk)]
    path = write_csv(tmp_path / "bad.csv", rows)
    run = ledger(database_url, path)
    assert run.code == 1
    lines = run.err.splitlines()
    assert lines[0] == f"发现 {len(chunk)} 个问题，未写入任何数据："
    # the CSV writer may quote a value; the reader gives it back trimmed
    for line_no, ((written, reason), message) in enumerate(zip(chunk, lines[1:], strict=True), 2):
        assert message.startswith(f"  - bad.csv 第{line_no}行 字段“分值”：分值“")
        assert written.strip()[:32] in message
        assert reason in message
    assert counts(database_url)[1] == 0


def test_ledger_add_takes_negative_and_full_width_points(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    add = ("ledger", "add", "GS01", "KF-01")
    on = ("--date", "2026-04-05", *TODAY_ARG)
    minus = kpibot(database_url, *add, "-0.5", *on, "--note", "更正")
    assert (minus.code, minus.err) == (0, "")
    assert "更正 -0.50" in minus.out
    wide = kpibot(database_url, *add, "１．５", *on, "-n", "全角")
    assert (wide.code, wide.err) == (0, "")
    comma = kpibot(database_url, *add, "1,5", *on)
    assert comma.code == 1
    assert comma.err.splitlines() == [
        "发现 1 个问题，未写入任何数据：",
        "  - 录入内容 字段“分值”：分值“1,5”含有逗号，不是有效数字（小数请用小数点，如 1.5）",
    ]
    exponent = kpibot(database_url, *add, "-1e3", *on)
    assert exponent.err.splitlines()[1] == (
        "  - 录入内容 字段“分值”：分值“-1e3”是科学计数法，请直接写出数字（如 1000）"
    )
    assert counts(database_url)[1] == 2


def test_xlsx_numeric_cells_are_read_as_excel_shows_them(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    good: list[list[Any]] = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", 0.1 + 0.2, "公式"],
        ["2026-04-05", "GS01", "KF-01", 2, "整数"],
        ["2026-04-05", "GS01", "KF-01", -1.25, "负数"],
    ]
    run = ledger(database_url, write_xlsx(tmp_path / "good.xlsx", good))
    assert run.code == 0, run.err
    listed = json.loads(kpibot(database_url, "ledger", "list", "--json").out)
    assert sorted(Decimal(str(e["points"])) for e in listed) == [
        Decimal("-1.25"),
        Decimal("0.3"),
        Decimal(2),
    ]
    bad: list[list[Any]] = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", 0.00001, "太小"],
        ["2026-04-05", "GS01", "KF-01", 1e20, "太大"],
        ["2026-04-05", "GS01", "KF-01", True, "布尔"],
    ]
    run = ledger(database_url, write_xlsx(tmp_path / "bad.xlsx", bad))
    assert run.err.splitlines() == [
        "发现 3 个问题，未写入任何数据：",
        "  - bad.xlsx [Sheet1] 第2行 字段“分值”：分值“0.00001”超过两位小数",
        "  - bad.xlsx [Sheet1] 第3行 字段“分值”：分值“100000000000000000000”"
        "超出合理范围（绝对值最大 1000）",
        "  - bad.xlsx [Sheet1] 第4行 字段“分值”：分值“True”不是有效数字",
    ]
    assert counts(database_url)[1] == 3


def test_reviews_refuse_other_scripts_and_commas(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [["年度", "单位", "评议得分"], ["٢٠٢٦", "GS01", "90"], ["2026", "GS02", "8,5"]]
    run = kpibot(database_url, "reviews", "import", str(write_csv(tmp_path / "r.csv", rows)))
    assert run.err.splitlines() == [
        "发现 2 个问题，未写入任何数据：",
        "  - r.csv 第2行 字段“年度”：年度“٢٠٢٦”含有不支持的数字字符“٢”"
        "（ARABIC-INDIC DIGIT TWO），请用 0-9",
        "  - r.csv 第3行 字段“评议得分”：评议得分“8,5”含有逗号，不是有效数字"
        "（小数请用小数点，如 1.5）",
    ]


# ---------------------------------------------------------------- rulebook YAML


RULEBOOK = """\
title: 数字
year: 2026
scoring:
  review_weight: {weight}
indicators:
  - code: A-01
    name: 一
    type: 加分项
    points: {points}
    cap: {cap}
"""


def refusal(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_rulebook(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("1_000", "r.yaml 第9行 字段“points”：分值“1_000”含有下划线，不是有效数字"),
        ("1e3", "r.yaml 第9行 字段“points”：分值“1e3”是科学计数法，请直接写出数字（如 1000）"),
        (
            "1.0e+3",
            "r.yaml 第9行 字段“points”：分值“1.0e+3”是科学计数法，请直接写出数字（如 1000）",
        ),
        (".inf", "r.yaml 第9行 字段“points”：分值“.inf”不是有限的数字"),
        (".nan", "r.yaml 第9行 字段“points”：分值“.nan”不是有限的数字"),
        ("0x10", "r.yaml 第9行 字段“points”：分值“0x10”不是有效数字"),
        ("1:30", "r.yaml 第9行 字段“points”：分值“1:30”不是有效数字"),
        (
            "'1,5'",
            "r.yaml 第9行 字段“points”：分值“1,5”含有逗号，不是有效数字（小数请用小数点，如 1.5）",
        ),
        ("0.125", "r.yaml 第9行 字段“points”：分值“0.125”超过两位小数"),
        ("1" + "0" * 40, f"r.yaml 第9行 字段“points”：分值“1{'0' * 31}…”过长，不是有效数字"),
    ],
)
def test_rulebook_yaml_numbers_are_strict(tmp_path: Path, points: str, message: str) -> None:
    text = RULEBOOK.format(weight="0.2", points=points, cap=5)
    assert refusal(tmp_path, text) == [message]


def test_rulebook_yaml_reads_plain_numbers_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULEBOOK.format(weight="0.25", points="010", cap="２"), encoding="utf-8")
    rulebook = read_rulebook(path)
    assert (rulebook.indicators[0].points, rulebook.indicators[0].cap) == (Decimal(10), Decimal(2))


def test_scoring_values_use_the_same_parser(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULEBOOK.format(weight="1e-1", points=1, cap=5), encoding="utf-8")
    run = kpibot(database_url, "rulebook", "check", str(path))
    assert run.err.splitlines() == [
        "发现 1 个问题，未写入任何数据：",
        "  - r.yaml 字段“scoring.review_weight”：“1e-1”是科学计数法，请直接写出数字（如 1000）",
    ]


def test_duplicate_yaml_key_is_refused_with_its_line(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    text = RULEBOOK.format(weight="0.2", points=1, cap=5) + "    points: 10\n"
    path.write_text(text, encoding="utf-8")
    run = kpibot(database_url, "rulebook", "import", str(path))
    assert (run.code, run.err.splitlines()) == (
        1,
        [
            "发现 1 个问题，未写入任何数据：",
            "  - r.yaml 第11行：YAML 格式错误：键“points”重复（首次出现在第9行）",
        ],
    )


def test_duplicate_key_in_the_xlsx_metadata_sheet_is_refused(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from knowledge.rulebook_writers import rulebook_to_xlsx
    from tests.conftest import SAMPLE_RULEBOOK

    path = tmp_path / "r.xlsx"
    path.write_bytes(rulebook_to_xlsx(read_rulebook(SAMPLE_RULEBOOK)))
    book = load_workbook(path)
    book["元数据"].append(["year", "2027"])
    book.save(path)
    with pytest.raises(InputError) as caught:
        read_rulebook(path)
    assert [str(p) for p in caught.value.problems] == [
        "r.xlsx [元数据] 第5行 字段“year”：键“year”重复（首次出现在第3行）"
    ]

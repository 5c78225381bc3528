"""The office synonym table: read from CSV/XLSX, kept with the rulebook, used by the matcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from knowledge.files import InputError
from knowledge.matcher import Matcher
from knowledge.rulebook_files import parse_rulebook_text, read_rulebook
from knowledge.rulebook_writers import rulebook_to_yaml
from knowledge.synonyms import OfficeSynonym, read_synonym_table, synonyms_of, with_synonyms
from tests.conftest import SAMPLE_RULEBOOK

TABLE = [OfficeSynonym("排队", "等候时长"), OfficeSynonym("网上办", "非接触式办税")]


def test_reads_a_csv_table_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "同义词.csv"
    path.write_text("日常说法,规范用语\n排队,等候时长\n网上办,非接触式办税\n", encoding="utf-8")
    assert read_synonym_table(path) == tuple(TABLE)


def test_reads_an_xlsx_table(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "同义词"
    for row in (("word", "term"), ("排队", "等候时长"), ("网上办", "非接触式办税")):
        sheet.append(row)
    path = tmp_path / "synonyms.xlsx"
    book.save(path)
    assert read_synonym_table(path) == tuple(TABLE)


def test_bad_rows_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("日常说法,规范用语\n排队,\n网上办,网上办\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_synonym_table(path)
    assert [str(p) for p in caught.value.problems] == [
        "s.csv 第2行 字段“term”：规范用语为空",
        "s.csv 第3行 字段“term”：规范用语与日常说法相同",
    ]


def test_missing_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("日常说法\n排队\n", encoding="utf-8")
    with pytest.raises(InputError, match="缺少必需的列"):
        read_synonym_table(path)


def test_the_table_travels_with_the_rulebook() -> None:
    rulebook = with_synonyms(read_rulebook(SAMPLE_RULEBOOK), TABLE)
    again = parse_rulebook_text(rulebook_to_yaml(rulebook), source="v2.yaml")
    assert synonyms_of(again) == tuple(TABLE)
    assert synonyms_of(with_synonyms(again, [])) == ()


def test_a_malformed_table_in_the_rulebook_is_refused() -> None:
    rulebook = read_rulebook(SAMPLE_RULEBOOK)
    broken = parse_rulebook_text(
        rulebook_to_yaml(rulebook) + "synonyms:\n  - word: 排队\n", source="v3.yaml"
    )
    with pytest.raises(InputError, match="规范用语为空"):
        synonyms_of(broken)


def test_the_matcher_uses_the_table() -> None:
    indicators = read_rulebook(SAMPLE_RULEBOOK).indicators
    question = "大伙儿挨个儿"
    plain = Matcher(indicators, background=())
    with_table = Matcher(
        indicators, synonyms=[OfficeSynonym("挨个儿", "平均等候时长")], background=()
    )
    best = with_table.indicators[with_table.score(question)[1][0][0]]
    assert best.code == "DL-06"
    assert plain.indicators[plain.score(question)[1][0][0]].code != "DL-06"

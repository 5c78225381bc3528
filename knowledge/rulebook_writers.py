"""Rulebook files written back: YAML in the contract's format and XLSX with the same sheets
and columns the reader accepts (:mod:`knowledge.rulebook_files`), learned phrasings and the
office synonym table included, so an export re-imports to the same rulebook."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from knowledge.files import InputError, Problem, suffix_of
from knowledge.learned import LEARNED_SHEETS, learned_of
from knowledge.learned import RULEBOOK_KEY as LEARNED_KEY
from knowledge.rulebook import Level, Rulebook
from knowledge.rulebook_files import (
    FAQ_SHEETS,
    INDICATOR_SHEETS,
    META_SHEETS,
)
from knowledge.synonyms import RULEBOOK_KEY as SYNONYMS_KEY
from knowledge.synonyms import SYNONYM_SHEETS, synonyms_of


def _plain_number(value: Decimal) -> int | float | str:
    """A YAML-friendly exact number: int when whole, else its exact decimal text."""
    if value == value.to_integral_value():
        return int(value)
    return format(value, "f")


def rulebook_to_document(rulebook: Rulebook) -> dict[str, Any]:
    """The rulebook as the YAML contract's nested mapping."""
    indicators = []
    for item in rulebook.indicators:
        entry: dict[str, Any] = {
            "code": item.code,
            "name": item.name,
            "type": item.type.value,
        }
        if item.category:
            entry["category"] = item.category
        entry["points"] = item.points
        if item.cap is not None:
            entry["cap"] = item.cap
        if item.owner:
            entry["owner"] = item.owner
        if item.cycle is not None:
            entry["cycle"] = item.cycle.value
        if item.standard:
            entry["standard"] = item.standard
        if item.aliases:
            entry["aliases"] = list(item.aliases)
        if item.interpretations:
            entry["interpretations"] = [
                {"level": i.level.value, "text": i.text} for i in item.interpretations
            ]
        if item.faq:
            entry["faq"] = [{"q": f.q, "a": f.a} for f in item.faq]
        indicators.append(entry)
    document: dict[str, Any] = {"title": rulebook.title}
    if rulebook.year is not None:
        document["year"] = rulebook.year
    if rulebook.scoring is not None:
        document["scoring"] = rulebook.scoring
    document.update(rulebook.extra)
    document["indicators"] = indicators
    return document


class _Dumper(yaml.SafeDumper):
    """Writes decimals as plain numbers and long text as folded blocks."""


def _represent_decimal(dumper: _Dumper, value: Decimal) -> yaml.ScalarNode:
    if value == value.to_integral_value():
        return dumper.represent_int(int(value))
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


def _represent_str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_representer(str, _represent_str)


def rulebook_to_yaml(rulebook: Rulebook) -> str:
    """The rulebook as YAML text in the contract's format."""
    return yaml.dump(
        rulebook_to_document(rulebook),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )


def rulebook_to_xlsx(rulebook: Rulebook) -> bytes:
    """The rulebook as an XLSX workbook: 指标, 问答 and 元数据 sheets."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = INDICATOR_SHEETS[0]
    headers = [
        "编码",
        "名称",
        "类型",
        "类别",
        "分值",
        "上限",
        "责任部门",
        "考核周期",
        "评分标准",
        "别名",
        "绩效办解读",
        "股室解读",
        "派出机构解读",
    ]
    sheet.append(headers)
    for item in rulebook.indicators:
        sheet.append(
            [
                item.code,
                item.name,
                item.type.value,
                item.category,
                _plain_number(item.points),
                _plain_number(item.cap) if item.cap is not None else None,
                item.owner,
                item.cycle.value if item.cycle else None,
                item.standard,
                "、".join(item.aliases),
                *(item.interpretation(level) for level in Level),
            ]
        )
    faq_sheet = book.create_sheet(FAQ_SHEETS[0])
    faq_sheet.append(["编码", "问题", "答案"])
    for item in rulebook.indicators:
        for faq in item.faq:
            faq_sheet.append([item.code, faq.q, faq.a])
    meta = book.create_sheet(META_SHEETS[0])
    meta.append(["键", "值"])
    meta.append(["title", rulebook.title])
    if rulebook.year is not None:
        meta.append(["year", str(rulebook.year)])
    _learning_sheets(book, rulebook)
    for key, value in (("scoring", rulebook.scoring), *rulebook.extra.items()):
        if value is not None and key not in (LEARNED_KEY, SYNONYMS_KEY):
            meta.append([key, yaml.dump(value, Dumper=_Dumper, allow_unicode=True).strip()])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _learning_sheets(book: Any, rulebook: Rulebook) -> None:
    """The sheets 已学问法 and 同义词, when the rulebook has them."""
    learned = learned_of(rulebook)
    if learned:
        sheet = book.create_sheet(LEARNED_SHEETS[0])
        sheet.append(["编码", "问法", "来源", "录入人", "时间"])
        for item in learned:
            sheet.append([item.code, item.question, item.source.value, item.by, item.at])
    synonyms = synonyms_of(rulebook)
    if synonyms:
        sheet = book.create_sheet(SYNONYM_SHEETS[0])
        sheet.append(["日常用语", "规范用语"])
        for synonym in synonyms:
            sheet.append([synonym.word, synonym.term])


def write_rulebook(rulebook: Rulebook, path: Path) -> None:
    """Write the rulebook as YAML or XLSX, chosen by the file extension."""
    kind = suffix_of(path)
    if kind in ("yaml", "yml"):
        path.write_text(rulebook_to_yaml(rulebook), encoding="utf-8")
    elif kind == "xlsx":
        path.write_bytes(rulebook_to_xlsx(rulebook))
    else:
        raise InputError([Problem(path.name, "导出只支持 .yaml/.yml 或 .xlsx")])

"""Files an admin sends to a front door (rulebook, units, ledger, reviews), imported as by the CLI.

The kind is taken from the caption when it names one (细则/单位/台账/评议), otherwise from the
file itself: YAML is a rulebook; a CSV or XLSX is recognised by its header row. Every import
runs in one transaction, so a refused file changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path, PurePath

from bot.core.errors import UserError, from_input_error
from bot.core.reply import Reply
from bot.services import Services
from db import rulebook_store
from knowledge.files import (
    MAX_INPUT_BYTES,
    InputError,
    Problem,
    header_row,
    map_headers,
    suffix_of,
)
from knowledge.rulebook_files import INDICATOR_COLUMNS
from scoring import entry
from scoring.imports import LEDGER_COLUMNS, REVIEW_COLUMNS, UNIT_COLUMNS
from scoring.rulebook_import import import_rulebook_file

MAX_UPLOAD_BYTES = MAX_INPUT_BYTES  # well under the 20 MB the Bot API lets a bot download


class UploadKind(StrEnum):
    """What an uploaded file holds."""

    RULEBOOK = "考评指标细则"
    UNITS = "考核对象（单位）"
    LEDGER = "积分台账"
    REVIEWS = "年终评议"


CAPTION_WORDS: tuple[tuple[UploadKind, tuple[str, ...]], ...] = (
    (UploadKind.RULEBOOK, ("细则", "指标", "rulebook")),
    (UploadKind.LEDGER, ("台账", "积分", "ledger")),
    (UploadKind.REVIEWS, ("评议", "review")),
    (UploadKind.UNITS, ("单位", "考核对象", "unit")),
)
# Checked in order: the first kind whose required columns are all present wins.
HEADER_KINDS: tuple[tuple[UploadKind, Mapping[str, Iterable[str]], tuple[str, ...]], ...] = (
    (UploadKind.LEDGER, LEDGER_COLUMNS, ("日期", "单位", "指标", "分值")),
    (UploadKind.REVIEWS, REVIEW_COLUMNS, ("年度", "单位", "评议得分")),
    (UploadKind.RULEBOOK, INDICATOR_COLUMNS, ("code", "name", "type", "points")),
    (UploadKind.UNITS, UNIT_COLUMNS, ("编码", "名称", "分组")),
)
SUPPORTED = ("yaml", "yml", "csv", "xlsx")
RETIRE_CONFIRMATION = "确认停用"  # in an upload's caption: retire what the rulebook dropped


def detect_kind(name: str, data: bytes, caption: str | None) -> UploadKind:
    """What the file is, from the caption or its content; InputError when it cannot tell."""
    kind = suffix_of(Path(name))
    if kind not in SUPPORTED:
        raise InputError([Problem(name, f"不支持的文件类型“.{kind}”（支持 .yaml、.csv、.xlsx）")])
    text = (caption or "").lower()
    for upload_kind, words in CAPTION_WORDS:
        if any(word in text for word in words):
            return upload_kind
    if kind in ("yaml", "yml"):
        return UploadKind.RULEBOOK
    header = header_row(data, name)
    for upload_kind, columns, required in HEADER_KINDS:
        mapping, _ = map_headers(header, columns)
        if set(required) <= set(mapping.values()):
            return upload_kind
    raise InputError(
        [
            Problem(
                name,
                "无法判断文件内容。请在发送文件时附上说明：细则、单位、台账或评议；"
                "或检查表头是否完整",
                line=1,
            )
        ]
    )


class Uploads:
    """Imports files sent to a front door, with the same checks as ``kpibot … import``."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def import_file(
        self,
        name: str,
        data: bytes,
        *,
        caption: str | None,
        by: str,
        retire_missing: bool | None = None,
    ) -> Reply:
        """Import one uploaded file and say what happened (or everything that is wrong).

        A rulebook that would retire more than a quarter of the active indicators is
        imported only when confirmed: ``retire_missing`` (a confirm button's answer), or
        the caption saying 确认停用.
        """
        if retire_missing is None:
            retire_missing = RETIRE_CONFIRMATION in (caption or "")
        renderer = self.services.renderer
        safe_name = PurePath(name).name or "upload"
        try:
            if not data:
                raise InputError([Problem(safe_name, "文件为空")])
            if len(data) > MAX_UPLOAD_BYTES:
                limit = MAX_UPLOAD_BYTES // 2**20
                raise InputError([Problem(safe_name, f"文件过大（上限 {limit} MB）")])
            kind = detect_kind(safe_name, data, caption)
            with tempfile.TemporaryDirectory(prefix="kpibot-upload-") as folder:
                path = Path(folder) / safe_name
                path.write_bytes(data)
                summary = self._import(kind, path, by, retire_missing=retire_missing)
        except rulebook_store.UnconfirmedRetirementError as exc:
            raise self.retirement_refusal(exc) from exc
        except InputError as exc:
            raise from_input_error(exc) from exc
        return Reply(
            renderer.html("upload_done.html.j2", kind=kind.value, file=safe_name, summary=summary)
        )

    @staticmethod
    def retirement_refusal(exc: rulebook_store.UnconfirmedRetirementError) -> UserError:
        """Why a rulebook upload waits for confirmation, and how to give it."""
        hint = f"如确认停用，请重新发送该文件，并在说明中写“{RETIRE_CONFIRMATION}”。"
        return UserError(f"{exc.problems[0]}\n{hint}")

    def _import(self, kind: UploadKind, path: Path, by: str, *, retire_missing: bool) -> str:
        with self.services.session() as session:
            if kind is UploadKind.RULEBOOK:
                _, done = import_rulebook_file(
                    session=session, path=path, imported_by=by, retire_missing=retire_missing
                )
                updated = len(done.updated) + len(done.reactivated)
                summary = (
                    f"新增 {len(done.added)} 项，更新 {updated} 项，"
                    f"未变 {len(done.unchanged)} 项，停用 {len(done.retired)} 项"
                )
            elif kind is UploadKind.UNITS:
                units = entry.import_units(session=session, path=path)
                summary = (
                    f"新增 {len(units.added)} 个单位，更新 {len(units.updated)} 个，"
                    f"未变 {len(units.unchanged)} 个"
                )
                if units.duplicates:
                    summary += f"，文件内重复 {units.duplicates} 行（内容相同）已跳过"
            elif kind is UploadKind.LEDGER:
                ledger = entry.import_ledger(
                    session=session, path=path, entered_by=by, today=self.services.today()
                )
                summary = f"共 {ledger.rows} 行，新增 {ledger.added} 条"
                if ledger.skipped_existing:
                    summary += f"，跳过 {ledger.skipped_existing} 条（编号已导入过，不重复计分）"
                if ledger.skipped_duplicates:
                    summary += (
                        f"，文件内重复 {ledger.skipped_duplicates} 行（编号与内容均相同）已跳过"
                    )
            else:
                reviews = entry.import_reviews(session=session, path=path, entered_by=by)
                summary = (
                    f"共 {reviews.rows} 行，新增 {reviews.added} 条，更新 {reviews.changed} 条，"
                    f"跳过 {reviews.unchanged} 条（分数未变）"
                )
                if reviews.duplicates:
                    summary += f"，文件内重复 {reviews.duplicates} 行（内容相同）已跳过"
        if kind is UploadKind.RULEBOOK:
            self.services.reload()
            self.services.matcher()  # build and calibrate the new version's index now, once
        return summary

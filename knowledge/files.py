"""Reading the files people hand us: encodings, CSV/XLSX tables, and located problems.

Every importer (rulebook, units, ledger, reviews) reads through here, so that a GBK export
from Excel, a UTF-8 file with a BOM and an XLSX with shuffled columns all simply work, and
every problem is reported with its file, line and field.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.numbers import excel_number_text

# A ledger year of a million rows is a legitimate 50-60 MB CSV: the CLI takes it. Every
# other file (rulebook, units, reviews) and every upload is held to MAX_INPUT_BYTES.
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_INPUT_BYTES = 10 * 1024 * 1024
# Problems kept and listed per refused input; the rest are only counted ("另有 N 个问题").
MAX_LISTED_PROBLEMS = 30
# Past this many problems a long file stops being checked: its author has enough to fix.
MAX_COUNTED_PROBLEMS = 10_000
# An XLSX is a zip of XML: bound what it may inflate to, and read it within Excel's grid.
# openpyxl scans a sheet without a declared dimension twice (once to look for it): at
# ~3 MB/s per pass on a busy machine, 32 MB keeps the worst case well under a minute.
MAX_XLSX_INFLATED = 32 * 1024 * 1024
MAX_XLSX_PARTS = 1000
MAX_XLSX_ROWS = 1_048_576
MAX_XLSX_COLUMNS = 64


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.sheet:
            where += f" [{self.sheet}]"
        if self.line is not None:
            where += f" 第{self.line}行"
        if self.field:
            where += f" 字段“{self.field}”"
        return f"{where}：{self.message}"


class Problems:
    """The problems found in one input: the first few kept, all of them counted.

    A two-million-row file of bad rows must neither hold millions of messages in memory
    nor print them; people fix the first screenful and run again.
    """

    def __init__(self, limit: int = MAX_LISTED_PROBLEMS) -> None:
        self.limit = limit
        self.kept: list[Problem] = []
        self.total = 0
        self.stopped_at: int | None = None  # the line where checking gave up, if it did

    @property
    def hopeless(self) -> bool:
        """So many problems that checking the rest of a long file is not worth the wait."""
        return self.total >= MAX_COUNTED_PROBLEMS

    def append(self, problem: Problem) -> None:
        """Count a problem; keep it while fewer than ``limit`` are kept."""
        self.total += 1
        if len(self.kept) < self.limit:
            self.kept.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Count several problems."""
        for problem in problems:
            self.append(problem)

    @property
    def full(self) -> bool:
        """Whether further problems are only counted (callers may skip building them)."""
        return len(self.kept) >= self.limit

    def count(self) -> None:
        """Count a problem not worth building because it would not be kept."""
        self.total += 1

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0


class InputError(Exception):
    """An input was refused; carries the problems found (the first few) and their count."""

    def __init__(self, problems: Sequence[Problem] | Problems) -> None:
        self.stopped_at: int | None = None
        if isinstance(problems, Problems):
            self.problems = list(problems.kept)
            self.total = problems.total
            self.stopped_at = problems.stopped_at
        else:
            self.problems = list(problems)
            self.total = len(self.problems)
        super().__init__("\n".join(self.lines()))

    @property
    def headline(self) -> str:
        """The first line of a refusal: how many problems, and that nothing was written."""
        count = f"至少 {self.total}" if self.stopped_at is not None else f" {self.total}"
        return f"发现{count} 个问题，未写入任何数据："

    @property
    def omitted(self) -> int:
        """How many problems were counted but not kept."""
        return self.total - len(self.problems)

    def lines(self, limit: int = MAX_LISTED_PROBLEMS) -> list[str]:
        """The problems as text, at most ``limit`` of them and then "另有 N 个问题"."""
        shown = [str(p) for p in self.problems[:limit]]
        rest = self.total - len(shown)
        if self.stopped_at is not None:
            shown.append(
                f"另有至少 {rest} 个问题未列出（问题过多，已在第{self.stopped_at}行停止检查），"
                "请先改正以上问题后重新导入"
            )
        elif rest > 0:
            shown.append(f"另有 {rest} 个问题未列出，请先改正以上问题后重新导入")
        return shown


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, refusing missing, empty and oversized files."""
    name = path.name
    if not path.is_file():
        raise InputError([Problem(name, "文件不存在或不是普通文件")])
    size = path.stat().st_size
    if size == 0:
        raise InputError([Problem(name, "文件为空")])
    if size > limit:
        raise InputError(
            [Problem(name, f"文件过大（约 {size / 2**20:.1f} MB，上限 {limit // 2**20} MB）")]
        )
    return path.read_bytes()


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError([Problem(name, f"UTF-16 编码错误（字节 {exc.start}）")]) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise InputError(
                [Problem(name, "无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030）", line=line)]
            ) from utf8_error


def clean_cell(value: Any) -> str:
    """A cell as trimmed text; ``None`` and blanks become ``""``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return excel_number_text(value)
    return str(value).strip()


@dataclass(frozen=True)
class Row:
    """A data row of a table: its values by canonical column name and its 1-based line."""

    line: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class Table:
    """The rows of one CSV file or XLSX sheet, columns mapped to canonical names.

    ``rows`` may be a stream (CSV): iterate it once.
    """

    file: str
    sheet: str | None
    rows: Iterable[Row]
    columns: frozenset[str]

    def problem(
        self, message: str, *, line: int | None = None, field: str | None = None
    ) -> Problem:
        """A problem located in this table."""
        return Problem(self.file, message, line=line, field=field, sheet=self.sheet)


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "").replace("_", "")


def map_headers(
    header: Sequence[str],
    columns: Mapping[str, Iterable[str]],
) -> tuple[dict[int, str], list[str]]:
    """Map header cells to canonical names; return the mapping and duplicated headers."""
    spelled: dict[str, str] = {}
    for canonical, spellings in columns.items():
        for spelling in (canonical, *spellings):
            spelled[_header_key(spelling)] = canonical
    mapping: dict[int, str] = {}
    seen: set[str] = set()
    duplicates: list[str] = []
    for index, cell in enumerate(header):
        found = spelled.get(_header_key(cell))
        if found is None:
            continue
        if found in seen:
            duplicates.append(cell)
            continue
        seen.add(found)
        mapping[index] = found
    return mapping, duplicates


def _row_texts(cells: Sequence[Any]) -> list[str] | None:
    """A row's cells as trimmed text, or None for a row with nothing in it."""
    if not any(cells):  # the empty rows an XLSX gap yields: skip before any work
        return None
    # CSV cells are always str: strip them inline (a million-row ledger import spends
    # most of its parsing time here); other cell types go through clean_cell.
    texts = [c.strip() if c.__class__ is str else clean_cell(c) for c in cells]
    return texts if any(texts) else None


def _table_from_rows(
    raw_rows: Iterable[tuple[int, Sequence[Any]]],
    *,
    file: str,
    sheet: str | None,
    columns: Mapping[str, Iterable[str]],
    required: Iterable[str],
) -> Table:
    """The header read now; the data rows read as the table's ``rows`` are iterated."""
    raw = iter(raw_rows)
    for line, cells in raw:
        texts = _row_texts(cells)
        if texts is None:
            continue
        mapping, duplicates = map_headers(texts, columns)
        problems = [Problem(file, f"列名“{c}”重复", line=line, sheet=sheet) for c in duplicates]
        missing = [name for name in required if name not in mapping.values()]
        if missing:
            problems.append(
                Problem(file, "缺少必需的列", line=line, field="、".join(missing), sheet=sheet)
            )
        if problems:
            raise InputError(problems)
        rows = _data_rows(raw, mapping)
        return Table(file=file, sheet=sheet, rows=rows, columns=frozenset(mapping.values()))
    raise InputError([Problem(file, "没有表头和数据", sheet=sheet)])


def _data_rows(raw: Iterator[tuple[int, Sequence[Any]]], mapping: dict[int, str]) -> Iterator[Row]:
    items = list(mapping.items())
    width = max(mapping, default=-1) + 1
    for line, cells in raw:
        texts = _row_texts(cells)
        if texts is None:
            continue
        if len(texts) >= width:
            values = {name: texts[i] for i, name in items}
        else:
            values = {name: (texts[i] if i < len(texts) else "") for i, name in items}
        yield Row(line=line, values=values)


def bounded(table: Table, limit: int) -> Iterator[Row]:
    """The table's rows, refusing the file once it has more than ``limit`` of them."""
    for count, row in enumerate(table.rows, start=1):
        if count > limit:
            raise InputError([table.problem(f"数据行过多（上限 {limit} 行）", line=row.line)])
        yield row


def _csv_reader(text: str) -> Any:
    """A reader for comma, tab or semicolon separated text, the separator sniffed."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",\t;"
        )
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text, newline=""), dialect)


def header_row(data: bytes, file: str) -> list[str]:
    """The first non-empty row of a CSV, or of an XLSX's first sheet, as trimmed text."""
    if suffix_of(Path(file)) == "csv":
        for row in _csv_reader(decode_text(data, file)):
            cells = [clean_cell(c) for c in row]
            if any(cells):
                return cells
        return []
    book = _open_workbook(data, file)
    try:
        for _line, row in _sheet_rows(book.worksheets[0], file):
            cells = [clean_cell(c) for c in row]
            if any(cells):
                return cells
        return []
    finally:
        book.close()


def read_csv_table(
    data: bytes,
    *,
    file: str,
    columns: Mapping[str, Iterable[str]],
    required: Iterable[str],
) -> Table:
    """A CSV (comma, tab or semicolon separated, any supported encoding) as a table."""
    reader = _csv_reader(decode_text(data, file))
    return _table_from_rows(
        _csv_rows(reader, file), file=file, sheet=None, columns=columns, required=required
    )


def _csv_rows(reader: Any, file: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with their line numbers, streamed (a 10 MB file may hold 2 million rows)."""
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        text = str(exc)
        if "field larger than field limit" in text:
            reason = f"单元格过长（超过 {csv.field_size_limit()} 个字符）"
        elif "NUL" in text:
            reason = "含有空字符（NUL），不像是文本表格"
        else:
            reason = "引号或分隔符不匹配"
        raise InputError([Problem(file, f"CSV 格式错误：{reason}", line=reader.line_num)]) from exc


def _check_archive(data: bytes, file: str) -> None:
    """Refuse a workbook whose parts inflate beyond what a real one holds (a zip bomb).

    The declared sizes are a bound: :mod:`zipfile` never inflates a part beyond its
    declared size (a lie there fails the CRC check as a corrupt file).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise InputError([Problem(file, "不是有效的 XLSX 文件（无法作为压缩包打开）")]) from exc
    inflated = sum(part.file_size for part in parts)
    if len(parts) > MAX_XLSX_PARTS or inflated > MAX_XLSX_INFLATED:
        raise InputError(
            [
                Problem(
                    file,
                    f"XLSX 内容过大（解压后约 {inflated // 2**20} MB，上限 "
                    f"{MAX_XLSX_INFLATED // 2**20} MB），请拆分文件或另存为 CSV",
                )
            ]
        )


def _open_workbook(data: bytes, file: str) -> Any:
    from openpyxl import load_workbook

    _check_archive(data, file)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a corrupt file
        raise InputError([Problem(file, f"不是有效的 XLSX 文件（{type(exc).__name__}）")]) from exc


def _sheet_rows(sheet: Any, file: str) -> Iterator[tuple[int, Sequence[Any]]]:
    """A sheet's rows streamed, numbered from 1, within Excel's own bounds.

    The declared dimension (``A1:XFD1048576`` costs a few bytes to write) is ignored:
    only cells that exist are read, and only the first MAX_XLSX_COLUMNS columns.
    """
    sheet.reset_dimensions()
    rows = sheet.iter_rows(max_col=MAX_XLSX_COLUMNS, values_only=True)
    for line, row in enumerate(rows, start=1):
        if line > MAX_XLSX_ROWS:
            raise InputError(
                [Problem(file, f"行数超过上限（{MAX_XLSX_ROWS} 行）", sheet=sheet.title)]
            )
        yield line, row


def read_xlsx_tables(
    data: bytes,
    *,
    file: str,
    sheets: Sequence[tuple[Sequence[str], Mapping[str, Iterable[str]], Iterable[str], bool]],
) -> list[Table | None]:
    """Read several sheets of one workbook.

    Each spec is (accepted sheet names, columns, required columns, sheet required). A spec
    that accepts ``"*"`` falls back to the first sheet when no name matches. Missing optional
    sheets give ``None``.
    """
    book = _open_workbook(data, file)
    try:
        names = list(book.sheetnames)
        result: list[Table | None] = []
        for accepted, columns, required, needed in sheets:
            chosen = next((n for n in names if n.strip() in accepted), None)
            if chosen is None and "*" in accepted and names:
                chosen = names[0]
            if chosen is None:
                if needed:
                    raise InputError([Problem(file, f"缺少工作表（应为：{'、'.join(accepted)}）")])
                result.append(None)
                continue
            raw = _sheet_rows(book[chosen], file)
            table = _table_from_rows(
                raw, file=file, sheet=chosen, columns=columns, required=required
            )
            # read now: the rows cannot be streamed once the workbook is closed
            result.append(dataclasses.replace(table, rows=list(table.rows)))
        return result
    finally:
        book.close()


def suffix_of(path: Path) -> str:
    """The lower-case file extension without the dot."""
    return path.suffix.lower().lstrip(".")

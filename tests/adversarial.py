"""Hostile input files, and a probe that feeds one to the real CLI and measures the cost.

Each maker writes a file under 10 MB into a folder and names the ``kpibot`` command that
must refuse it. The probe (``python -m tests.adversarial DB_URL COMMAND... FILE``) runs that
command in a fresh process and prints a JSON line with its exit code, its error output, its
wall time and its peak resident memory, so a test or a benchmark can bound all three.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_SECONDS = 60.0
MAX_PEAK_BYTES = 1024 * 1024 * 1024
TEN_MB = 10 * 1024 * 1024
ADDRESS_SPACE_LIMIT = 4 * 1024 * 1024 * 1024

LEDGER_HEADER = "日期,单位,指标,分值,说明,编号\n"


@dataclass(frozen=True)
class Bomb:
    """One hostile file: how to make it and which command must refuse it."""

    name: str
    file: str
    command: tuple[str, ...]
    make: Callable[[Path], None]


# ---------------------------------------------------------------- YAML


def billion_laughs(path: Path) -> None:
    """The classic: nine levels of nine aliases, 446 bytes, 10**9 strings when expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def deep_flow_nesting(path: Path) -> None:
    """A million nested flow sequences: recursion in a naive composer."""
    depth = 1_000_000
    path.write_text("indicators: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")


def deep_block_nesting(path: Path) -> None:
    """Two thousand nested block mappings."""
    lines = [f"{'  ' * level}k{level}:" for level in range(2000)]
    path.write_text("\n".join(lines) + " 1\n", encoding="utf-8")


def many_nodes(path: Path) -> None:
    """Two and a half million list items: every one a node held in memory."""
    body = "- 1\n" * ((TEN_MB - 1024) // 4)
    path.write_text("title: x\nindicators:\n" + body, encoding="utf-8")


def huge_number(path: Path) -> None:
    """A points value of nine million digits."""
    text = "title: x\nindicators:\n  - code: A-01\n    name: 一\n    type: 加分项\n    points: "
    path.write_text(text + "9" * 9_000_000 + "\n", encoding="utf-8")


# ---------------------------------------------------------------- XLSX


def _xlsx(path: Path, sheet_xml: bytes | Callable[[io.BufferedIOBase], None]) -> None:
    """A minimal workbook with one sheet whose XML is given (or streamed by a writer)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", content_types)
        book.writestr("_rels/.rels", rels)
        book.writestr("xl/workbook.xml", workbook)
        book.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        if isinstance(sheet_xml, bytes):
            book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        else:
            with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet_xml(sheet)  # type: ignore[arg-type]


_SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def huge_dimension(path: Path) -> None:
    """Three real rows, but a declared dimension of A1:XFD1048576 (a few KB on disk)."""
    titles = ("日期", "单位", "指标", "分值")
    header = "".join(_inline(f"{c}1", t) for c, t in zip("ABCD", titles, strict=True))
    values = ("2026-01-05", "GS01", "KF-02")
    row = "".join(_inline(f"{c}2", t) for c, t in zip("ABC", values, strict=True))
    xml = (
        _SHEET_START
        + b'<dimension ref="A1:XFD1048576"/><sheetData>'
        + f'<row r="1">{header}</row><row r="2">{row}<c r="D2"><v>1</v></c></row>'.encode()
        + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
        + b"</sheetData></worksheet>"
    )
    _xlsx(path, xml)


def _numeric_cells(megabytes: int) -> Callable[[io.BufferedIOBase], None]:
    """A sheet writer: rows of 50 numeric cells, ``megabytes`` of XML in all."""

    def write(sheet: io.BufferedIOBase) -> None:
        sheet.write(_SHEET_START + b"<sheetData>")
        cells = b'<c r="A1"><v>1</v></c>' * 50
        block = b"".join(b'<row r="%d">%s</row>' % (i + 1, cells) for i in range(2000))
        for _ in range(megabytes * 1024 * 1024 // len(block)):
            sheet.write(block)
        sheet.write(b"</sheetData></worksheet>")

    return write


def zip_bomb(path: Path) -> None:
    """A sheet of 120 MB of XML (millions of numeric cells) deflated to under 1 MB."""
    _xlsx(path, _numeric_cells(120))


def inflated_just_below(path: Path) -> None:
    """30 MB of numeric cells: under the inflation cap, so every cell is parsed."""
    _xlsx(path, _numeric_cells(30))


def wide_rows(path: Path) -> None:
    """Rows of 16,384 real cells each (the declared dimension agreeing)."""
    cells = b'<c r="A1"><v>1</v></c>' * 16384

    def write(sheet: io.BufferedIOBase) -> None:
        sheet.write(_SHEET_START + b'<dimension ref="A1:XFD150"/><sheetData>')
        for i in range(150):
            sheet.write(b'<row r="%d">%s</row>' % (i + 1, cells))
        sheet.write(b"</sheetData></worksheet>")

    _xlsx(path, write)


# ---------------------------------------------------------------- CSV and anything


def bad_rows(path: Path) -> None:
    """Two million rows under 10 MB, each with several problems."""
    path.write_text(LEDGER_HEADER + "x,,,\n" * 2_000_000, encoding="utf-8")


def huge_cell(path: Path) -> None:
    """One note of nine million characters."""
    path.write_text(LEDGER_HEADER + "2026-01-05,GS01,KF-02,1," + "长" * 3_000_000 + ",A\n")


def garbage(path: Path) -> None:
    """Random bytes (the same every run)."""
    path.write_bytes(random.Random(8).randbytes(9 * 1024 * 1024))


def utf16_without_bom(path: Path) -> None:
    """A ledger saved as UTF-16 without its byte-order mark."""
    path.write_bytes((LEDGER_HEADER + "2026-01-05,GS01,KF-02,1,说明,A\n").encode("utf-16-le"))


def shift_jis(path: Path) -> None:
    """A ledger in a Japanese code page."""
    text = "日付,部署,指標,点数,説明,番号\n2026-01-05,GS01,KF-02,1,ﾃｽﾄ,A\n"
    path.write_bytes(text.encode("shift_jis"))


LEDGER = ("ledger", "import")
RULEBOOK = ("rulebook", "check")
BOMBS: tuple[Bomb, ...] = (
    Bomb("billion laughs YAML", "laughs.yaml", RULEBOOK, billion_laughs),
    Bomb("deep flow nesting YAML", "deep.yaml", RULEBOOK, deep_flow_nesting),
    Bomb("deep block nesting YAML", "deep_block.yaml", RULEBOOK, deep_block_nesting),
    Bomb("2.6 M nodes YAML", "nodes.yaml", RULEBOOK, many_nodes),
    Bomb("9 M digit number YAML", "number.yaml", RULEBOOK, huge_number),
    Bomb("declared A1:XFD1048576 XLSX", "dimension.xlsx", LEDGER, huge_dimension),
    Bomb("120 MB XML zip bomb XLSX", "bomb.xlsx", LEDGER, zip_bomb),
    Bomb("30 MB XML of numbers XLSX", "numbers.xlsx", LEDGER, inflated_just_below),
    Bomb("16,384-column rows XLSX", "wide.xlsx", LEDGER, wide_rows),
    Bomb("2 M bad rows CSV", "bad_rows.csv", LEDGER, bad_rows),
    Bomb("9 MB cell CSV", "cell.csv", LEDGER, huge_cell),
    Bomb("binary garbage as CSV", "garbage.csv", LEDGER, garbage),
    Bomb("binary garbage as XLSX", "garbage.xlsx", LEDGER, garbage),
    Bomb("binary garbage as YAML", "garbage.yaml", RULEBOOK, garbage),
    Bomb("UTF-16 without BOM CSV", "utf16.csv", LEDGER, utf16_without_bom),
    Bomb("Shift-JIS CSV", "sjis.csv", LEDGER, shift_jis),
)


@dataclass(frozen=True)
class Outcome:
    """What refusing one file cost."""

    code: int
    err: str
    seconds: float
    peak_bytes: int


def _limit_memory() -> None:
    """A safety net on a shared machine: a regression fails, it does not eat all memory."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def probe_many(database_url: str, runs: list[tuple[tuple[str, ...], Path]]) -> list[Outcome]:
    """Run ``kpibot --db URL COMMAND PATH`` for each run, each in its own process.

    One helper process imports kpibot once, then forks a child per run; the child's own
    peak memory comes back from ``wait4``, its time and output through a pipe.
    """
    import subprocess

    root = Path(__file__).resolve().parents[1]
    spec = json.dumps([[list(command), str(path)] for command, path in runs])
    done = subprocess.run(
        [sys.executable, "-m", "tests.adversarial", database_url],
        input=spec,
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=MAX_SECONDS * 2 * (len(runs) + 1),
        check=False,
        preexec_fn=_limit_memory,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe crashed ({done.returncode}): {done.stderr[-2000:]}")
    outcomes = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [Outcome(o["code"], o["err"], o["seconds"], o["peak_bytes"]) for o in outcomes]


def _run_one(database_url: str, args: list[str], report: int) -> None:
    """In a forked child: run one command and write what happened to ``report``."""
    import signal

    from typer.testing import CliRunner

    from bot.cli.main import app

    signal.alarm(int(MAX_SECONDS * 2))  # a runaway child dies; its parent reports that
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["--db", database_url, *args], catch_exceptions=True)
    seconds = time.perf_counter() - start
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
    data = {"code": result.exit_code, "err": err, "seconds": seconds}
    os.write(report, json.dumps(data, ensure_ascii=False).encode())


def _main(database_url: str) -> None:
    import bot.cli.main  # noqa: F401  (imported once, before forking)

    for command, path in json.loads(sys.stdin.read()):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                _run_one(database_url, [*command, path], write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            reported = pipe.read()
        _pid, status, usage = os.wait4(pid, 0)
        line: dict[str, object] = (
            json.loads(reported)
            if reported
            else {
                "code": -os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1,
                "err": "",
                "seconds": -1,
            }
        )
        line["peak_bytes"] = usage.ru_maxrss * 1024  # KiB on Linux
        print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1])

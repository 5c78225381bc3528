"""``kpibot units|ledger|reviews|rank|score``: the points ledger, scores and rankings.

Thin: every command parses its arguments, calls :mod:`scoring` and prints the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say, say_json
from scoring.periods import FORMS_HELP

if TYPE_CHECKING:
    from bot.services import Services
    from scoring.entry import EntryView
    from scoring.periods import Period
    from scoring.queries import Explanation, Ranking

units_app = chinese_typer("考核对象（单位）：导入、查看")
ledger_app = chinese_typer("积分台账：导入、录入、冲正、查看")
reviews_app = chinese_typer("年终评议：导入")

FileArg = Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件")]
ByOption = Annotated[str, typer.Option("--by", help="录入人（记入台账）")]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON")]
TodayOption = Annotated[
    datetime | None,
    typer.Option("--today", formats=["%Y-%m-%d"], help="按此日期计算（默认今天）", hidden=True),
]
PeriodOption = Annotated[str, typer.Option("--period", "-p", help=f"期间：{FORMS_HELP}")]

# How each indicator type moves a score, and its heading in a breakdown.
SECTIONS = (
    ("定量指标", "定量指标", "losses", "扣"),
    ("减分项", "减分项", "deductions", "扣"),
    ("加分项", "加分项", "bonuses", "加"),
)
DIRECTION = {kind: sign for kind, _, _, sign in SECTIONS}


def _today(value: datetime | None, services: Services) -> date:
    return value.date() if value is not None else services.today()


@contextmanager
def scoring_errors() -> Iterator[None]:
    """Input problems as a list, query problems as one line; both exit non-zero."""
    from scoring.queries import ScoringError

    with reported_errors():
        try:
            yield
        except ScoringError as exc:
            fail(str(exc))


def _period(text: str, today: date) -> Period:
    from scoring.periods import parse_period

    try:
        return parse_period(text, today=today)
    except ValueError as exc:
        fail(str(exc))


def fmt(value: Fraction | Decimal) -> str:
    """A score as shown: rounded half-up to two decimals."""
    from bot.render import format_fixed

    return format_fixed(value)


# ---------------------------------------------------------------- units


@units_app.command(
    "import", cls=ChineseCommand, help="导入考核对象（编码、名称、分组），已有的更新"
)
def units_import_command(ctx: typer.Context, file: FileArg) -> None:
    """Add or update units from a file (编码/code, 名称/name, 分组/group)."""
    from scoring import entry

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        result = entry.import_units(session=session, path=file)
    say(
        f"已导入 {file.name}：新增 {len(result.added)} 个单位，更新 {len(result.updated)} 个，"
        f"未变 {len(result.unchanged)} 个"
        + (f"，文件内重复 {result.duplicates} 行（内容相同）已跳过" if result.duplicates else "")
        + "。"
    )


@units_app.command("list", cls=ChineseCommand, help="列出考核对象")
def units_list_command(
    ctx: typer.Context,
    group: Annotated[str | None, typer.Option("--group", "-g", help="只看某一分组")] = None,
    as_json: JsonOption = False,
) -> None:
    """List units by code."""
    from bot.render import pad
    from db import scoring_store

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        units = scoring_store.list_units(session=session, group=group)
    if as_json:
        say_json([{"code": u.code, "name": u.name, "group": u.group} for u in units])
        return
    if not units:
        say("还没有考核对象。请先导入：kpibot units import 单位.csv")
        return
    for unit in units:
        say(f"{pad(unit.code, 10)}{pad(unit.name, 26)}{unit.group}")
    say(f"共 {len(units)} 个单位。")


# ---------------------------------------------------------------- ledger


@ledger_app.command(
    "import", cls=ChineseCommand, help="导入积分台账；编号已导入过的行跳过，不重复计分"
)
def ledger_import_command(
    ctx: typer.Context, file: FileArg, by: ByOption = "cli", today: TodayOption = None
) -> None:
    """Append a ledger file; rows whose 编号 is already recorded are skipped, not counted twice."""
    from scoring import entry

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        result = entry.import_ledger(
            session=session, path=file, entered_by=by, today=_today(today, services)
        )
    message = f"已导入 {file.name}：共 {result.rows} 行，新增 {result.added} 条"
    if result.skipped_existing:
        sample = "、".join(result.skipped_sample)
        more = "等" if result.skipped_existing > len(result.skipped_sample) else ""
        message += (
            f"，跳过 {result.skipped_existing} 条（编号已导入过，不重复计分：{sample}{more}）"
        )
    if result.skipped_duplicates:
        message += f"，文件内重复 {result.skipped_duplicates} 行（编号与内容均相同）已跳过"
    say(message + "。")


def _describe(view: EntryView, services: Services) -> str:
    rulebook = services.rulebook()
    indicator = rulebook.by_code().get(view.indicator_code) if rulebook else None
    name = f" {indicator.name}" if indicator else ""
    if view.points < 0:
        movement = f"更正 {fmt(view.points)}"
    elif indicator is not None:
        movement = f"{DIRECTION[indicator.type]} {fmt(view.points)} 分"
    else:
        movement = f"{fmt(view.points)} 分"
    return f"{view.unit_code} · {view.indicator_code}{name} · {movement}（{view.entry_date}）"


# A correction is a negative number ("-0.5"); Click would take it for an unknown short
# option. Unknown options are passed on as arguments instead, so POINTS may be negative
# (a misspelt option then shows as an unexpected extra argument).
@ledger_app.command(
    "add",
    cls=ChineseCommand,
    help="录入一条台账记录（负数表示更正）",
    context_settings={"ignore_unknown_options": True},
)
def ledger_add_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="单位编码或名称")],
    indicator: Annotated[str, typer.Argument(help="指标编码或名称")],
    points: Annotated[str, typer.Argument(help="分值（正数；负数表示更正）")],
    note: Annotated[str, typer.Option("--note", "-n", help="说明（事由）")] = "",
    on: Annotated[
        datetime | None,
        typer.Option("--date", "-d", formats=["%Y-%m-%d"], help="发生日期（默认今天）"),
    ] = None,
    by: ByOption = "cli",
    today: TodayOption = None,
) -> None:
    """Record one ledger entry."""
    from scoring import entry

    services = services_of(ctx)
    now = _today(today, services)
    with scoring_errors(), services.session() as session:
        view = entry.add_entry(
            session=session,
            unit=unit,
            indicator=indicator,
            points=points,
            entry_date=on.date() if on is not None else now,
            note=note,
            entered_by=by,
            today=now,
        )
    say(f"已记录第 {view.id} 条：{_describe(view, services)}。")


@ledger_app.command("reverse", cls=ChineseCommand, help="冲正一条台账记录（原记录保留）")
def ledger_reverse_command(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY", help="要冲正的台账记录编号")],
    note: Annotated[str, typer.Option("--note", "-n", help="冲正原因（必填）")] = "",
    by: ByOption = "cli",
) -> None:
    """Cancel an entry with a reversing entry (the original stays on record)."""
    from scoring import entry

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        view = entry.reverse_entry(session=session, entry_id=entry_id, note=note, entered_by=by)
    say(f"已冲正第 {entry_id} 条：新增第 {view.id} 条 {_describe(view, services)}。")


@ledger_app.command("list", cls=ChineseCommand, help="查看台账记录，最新的在前")
def ledger_list_command(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="单位编码或名称")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", "-i", help="指标编码")] = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="期间")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多列出多少条")] = 50,
    as_json: JsonOption = False,
    today: TodayOption = None,
) -> None:
    """List ledger entries, newest first."""
    from bot.render import pad
    from db import scoring_store
    from scoring import entry, queries
    from scoring.entry import EntryView
    from scoring.queries import ScoringError

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        span = _period(period, _today(today, services)) if period else None
        unit_code = indicator_code = None
        try:
            if unit:
                unit_code = entry.unit_lookup(session=session).resolve(unit)
            if indicator:
                indicator_code = entry.indicator_lookup(session=session).resolve(indicator)
        except ValueError as exc:
            raise ScoringError(str(exc)) from exc
        records = scoring_store.list_entries(
            session=session,
            unit_code=unit_code,
            indicator_code=indicator_code,
            start=span.start if span else None,
            end=span.end if span else None,
            limit=limit,
        )
        views = [EntryView.of(r) for r in records]
    if as_json:
        say_json([queries.entry_json(v) for v in views])
        return
    if not views:
        say("没有符合条件的台账记录。")
        return
    for v in views:
        reversal = f" [冲正第 {v.reverses_id} 条]" if v.reverses_id else ""
        say(
            f"#{v.id:<7} {v.entry_date}  {pad(v.unit_code, 8)}{pad(v.indicator_code, 8)}"
            f"{fmt(v.points):>8}  {v.note}（录入：{v.entered_by}）{reversal}"
        )


# ---------------------------------------------------------------- reviews


@reviews_app.command("import", cls=ChineseCommand, help="导入年终评议得分（年度、单位、评议得分）")
def reviews_import_command(ctx: typer.Context, file: FileArg, by: ByOption = "cli") -> None:
    """Record year-end review scores (年度/year, 单位/unit, 评议得分/score)."""
    from scoring import entry

    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        result = entry.import_reviews(session=session, path=file, entered_by=by)
    say(
        f"已导入 {file.name}：共 {result.rows} 行，新增 {result.added} 条，"
        f"更新 {result.changed} 条（原分数保留在记录中），跳过 {result.unchanged} 条（分数未变）"
        + (f"，文件内重复 {result.duplicates} 行（内容相同）已跳过" if result.duplicates else "")
        + "。"
    )


# ---------------------------------------------------------------- rank and score


def render_ranking(services: Services, ranking: Ranking) -> str:
    """A ranking as plain text, one table per group (``cli/rank.txt.j2``)."""
    from scoring.ranking import ALERT_LABEL

    return services.renderer.text("cli/rank.txt.j2", ranking=ranking, alert_label=ALERT_LABEL)


def rank_command(
    ctx: typer.Context,
    period: PeriodOption = "本季度",
    group: Annotated[str | None, typer.Option("--group", "-g", help="只看某一分组")] = None,
    as_json: JsonOption = False,
    today: TodayOption = None,
) -> None:
    """Rank units within their groups for a month, quarter, half-year or year."""
    from scoring import queries

    services = services_of(ctx)
    now = _today(today, services)
    with scoring_errors(), services.session() as session:
        ranking = queries.rank_period(
            session=session, period=_period(period, now), today=now, group=group
        )
    if as_json:
        say_json(ranking.as_json())
    else:
        say(render_ranking(services, ranking))


def render_explanation(services: Services, x: Explanation) -> str:
    """One unit's breakdown as plain text (``cli/score.txt.j2``)."""
    from scoring.compute import LIMIT_TEXT

    quarters = [Fraction(detail.score) for _, detail in x.score.quarters]
    mean = sum(quarters, Fraction(0)) / len(quarters) if quarters else None
    return services.renderer.text(
        "cli/score.txt.j2", x=x, mean=mean, sections=SECTIONS, limit_text=LIMIT_TEXT
    )


def score_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="单位编码或名称")],
    period: PeriodOption = "本季度",
    as_json: JsonOption = False,
    today: TodayOption = None,
) -> None:
    """Explain one unit's score: every indicator, the entries behind it, its rank and gaps."""
    from scoring import queries

    services = services_of(ctx)
    now = _today(today, services)
    with scoring_errors(), services.session() as session:
        explanation = queries.explain_unit(
            session=session, unit=unit, period=_period(period, now), today=now
        )
    if as_json:
        say_json(explanation.as_json())
    else:
        say(render_explanation(services, explanation))


# ---------------------------------------------------------------- demo


def ensure_demo_scores(services: Services, today: date | None = None) -> str | None:
    """Seed the demo units, ledger and reviews when the database has no units."""
    from db import rulebook_store, scoring_store
    from scoring.demo_data import seed_demo

    now = today or services.today()
    with services.session() as session:
        if scoring_store.count_units(session=session):
            return None
        rulebook = rulebook_store.load_rulebook(session=session)
        if rulebook is None:
            return None
        year = min(rulebook.year or now.year, now.year)
        seeded = seed_demo(session=session, indicators=rulebook.indicators, year=year, today=now)
    return (
        f"已生成示例考核数据：{seeded.units} 个单位、{seeded.entries} 条积分记录"
        f"（另有 {seeded.reversals} 条冲正）、{seeded.reviews} 条 {seeded.year} 年度评议。"
        "可试：kpibot rank，kpibot score GS06"
    )

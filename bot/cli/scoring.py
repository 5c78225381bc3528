"""``kpibot units|ledger|reviews|rank|score``: the points ledger, scores and rankings.

Thin: every command parses its arguments, calls :mod:`scoring` and prints the result.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.context import fail, reported_errors, services_of
from bot.services import Services
from db import rulebook_store, scoring_store
from knowledge.rulebook import IndicatorType
from scoring import entry, queries
from scoring.compute import LIMIT_TEXT, UnitScore, round_half_up
from scoring.demo_data import seed_demo
from scoring.entry import EntryView
from scoring.periods import FORMS_HELP, Period, PeriodKind, parse_period
from scoring.queries import Explanation, Ranking, ScoringError
from scoring.ranking import Gap

units_app = typer.Typer(help="考核对象（单位）：导入、查看", no_args_is_help=True)
ledger_app = typer.Typer(help="积分台账：导入、录入、冲正、查看", no_args_is_help=True)
reviews_app = typer.Typer(help="年终评议：导入", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件")]
ByOption = Annotated[str, typer.Option("--by", help="录入人（记入台账）")]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON")]
TodayOption = Annotated[
    datetime | None,
    typer.Option("--today", formats=["%Y-%m-%d"], help="按此日期计算（默认今天）", hidden=True),
]
PeriodOption = Annotated[str, typer.Option("--period", "-p", help=f"期间：{FORMS_HELP}")]

DIRECTION = {
    IndicatorType.QUANTITATIVE: "扣",
    IndicatorType.DEDUCTION: "扣",
    IndicatorType.BONUS: "加",
}


def _today(value: datetime | None, services: Services) -> date:
    return value.date() if value is not None else services.today()


@contextmanager
def scoring_errors() -> Iterator[None]:
    """Input problems as a list, query problems as one line; both exit non-zero."""
    with reported_errors():
        try:
            yield
        except ScoringError as exc:
            fail(str(exc))


def _period(text: str, today: date) -> Period:
    try:
        return parse_period(text, today=today)
    except ValueError as exc:
        fail(str(exc))


def fmt(value: Fraction | Decimal) -> str:
    """A score as shown: rounded half-up to two decimals."""
    return format(round_half_up(value), "f")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """Left-align text in a column, counting CJK characters as two cells."""
    return text + " " * max(width - _width(text), 0)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- units


@units_app.command("import", help="导入考核对象（编码、名称、分组），已有的更新")
def units_import_command(ctx: typer.Context, file: FileArg) -> None:
    """Add or update units from a file (编码/code, 名称/name, 分组/group)."""
    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        result = entry.import_units(session=session, path=file)
    typer.echo(
        f"已导入 {file.name}：新增 {len(result.added)} 个单位，更新 {len(result.updated)} 个，"
        f"未变 {len(result.unchanged)} 个"
        + (f"，文件内重复 {result.duplicates} 行（内容相同）已跳过" if result.duplicates else "")
        + "。"
    )


@units_app.command("list", help="列出考核对象")
def units_list_command(
    ctx: typer.Context,
    group: Annotated[str | None, typer.Option("--group", "-g", help="只看某一分组")] = None,
    as_json: JsonOption = False,
) -> None:
    """List units by code."""
    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        units = scoring_store.list_units(session=session, group=group)
    if as_json:
        _echo_json([{"code": u.code, "name": u.name, "group": u.group} for u in units])
        return
    if not units:
        typer.echo("还没有考核对象。请先导入：kpibot units import 单位.csv")
        return
    for unit in units:
        typer.echo(f"{pad(unit.code, 10)}{pad(unit.name, 26)}{unit.group}")
    typer.echo(f"共 {len(units)} 个单位。")


# ---------------------------------------------------------------- ledger


@ledger_app.command("import", help="导入积分台账；编号已导入过的行跳过，不重复计分")
def ledger_import_command(
    ctx: typer.Context, file: FileArg, by: ByOption = "cli", today: TodayOption = None
) -> None:
    """Append a ledger file; rows whose 编号 is already recorded are skipped, not counted twice."""
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
    typer.echo(message + "。")


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
    typer.echo(f"已记录第 {view.id} 条：{_describe(view, services)}。")


@ledger_app.command("reverse", help="冲正一条台账记录（原记录保留）")
def ledger_reverse_command(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY", help="要冲正的台账记录编号")],
    note: Annotated[str, typer.Option("--note", "-n", help="冲正原因（必填）")] = "",
    by: ByOption = "cli",
) -> None:
    """Cancel an entry with a reversing entry (the original stays on record)."""
    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        view = entry.reverse_entry(session=session, entry_id=entry_id, note=note, entered_by=by)
    typer.echo(f"已冲正第 {entry_id} 条：新增第 {view.id} 条 {_describe(view, services)}。")


@ledger_app.command("list", help="查看台账记录，最新的在前")
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
        _echo_json([queries.entry_json(v) for v in views])
        return
    if not views:
        typer.echo("没有符合条件的台账记录。")
        return
    for v in views:
        reversal = f" [冲正第 {v.reverses_id} 条]" if v.reverses_id else ""
        typer.echo(
            f"#{v.id:<7} {v.entry_date}  {pad(v.unit_code, 8)}{pad(v.indicator_code, 8)}"
            f"{fmt(v.points):>8}  {v.note}（录入：{v.entered_by}）{reversal}"
        )


# ---------------------------------------------------------------- reviews


@reviews_app.command("import", help="导入年终评议得分（年度、单位、评议得分）")
def reviews_import_command(ctx: typer.Context, file: FileArg, by: ByOption = "cli") -> None:
    """Record year-end review scores (年度/year, 单位/unit, 评议得分/score)."""
    services = services_of(ctx)
    with scoring_errors(), services.session() as session:
        result = entry.import_reviews(session=session, path=file, entered_by=by)
    typer.echo(
        f"已导入 {file.name}：共 {result.rows} 行，新增 {result.added} 条，"
        f"更新 {result.changed} 条（原分数保留在记录中），跳过 {result.unchanged} 条（分数未变）"
        + (f"，文件内重复 {result.duplicates} 行（内容相同）已跳过" if result.duplicates else "")
        + "。"
    )


# ---------------------------------------------------------------- rank and score


def render_ranking(ranking: Ranking) -> str:
    """A ranking as plain text, one table per group."""
    lines = [f"{ranking.period.label}排名{_counted_note(ranking.period, ranking.counted)}"]
    threshold = fmt(ranking.rules.alert_threshold)
    for group in ranking.groups:
        lines.append(f"【{group.group}】")
        for unit in group.units:
            flags = []
            if unit.bottom_by_rank:
                flags.append("末位")
            if unit.below_alert:
                flags.append(f"低于 {threshold} 分预警线")
            if (
                ranking.period.kind is PeriodKind.YEAR
                and ranking.scores[unit.unit_code].review_missing
            ):
                flags.append("未含年终评议")
            note = f"  ⚠ {'，'.join(flags)}" if unit.bottom else ""
            if not unit.bottom and flags:
                note = f"  （{'，'.join(flags)}）"
            lines.append(
                f"{unit.rank:>4}  {pad(unit.unit_code, 8)}{pad(unit.name, 24)}"
                f"{fmt(unit.score):>8}{note}"
            )
    return "\n".join(lines)


def _counted_note(period: Period, counted: tuple[Period, ...]) -> str:
    if period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
        return ""
    if len(counted) == len(period.quarters()):
        return ""
    names = "、".join(q.label.removeprefix(f"{q.year}年") for q in counted)
    return f"（进行中，按已开始的{names}计算）"


def rank_command(
    ctx: typer.Context,
    period: PeriodOption = "本季度",
    group: Annotated[str | None, typer.Option("--group", "-g", help="只看某一分组")] = None,
    as_json: JsonOption = False,
    today: TodayOption = None,
) -> None:
    """Rank units within their groups for a month, quarter, half-year or year."""
    services = services_of(ctx)
    now = _today(today, services)
    with scoring_errors(), services.session() as session:
        ranking = queries.rank_period(
            session=session, period=_period(period, now), today=now, group=group
        )
    if as_json:
        _echo_json(ranking.as_json())
    else:
        typer.echo(render_ranking(ranking))


def _gap_text(gap: Gap) -> str:
    verb = "超过" if gap.strict else "达到"
    return f"需{verb} {fmt(gap.target)} 分，还差 {fmt(gap.points)} 分"


def _detail_lines(detail: UnitScore, explanation: Explanation | None) -> list[str]:
    lines = [f"基础分 {fmt(detail.base)}"]
    titles = {
        IndicatorType.QUANTITATIVE: ("定量指标", detail.losses),
        IndicatorType.DEDUCTION: ("减分项", detail.deductions),
        IndicatorType.BONUS: ("加分项", detail.bonuses),
    }
    for kind, (title, amount) in titles.items():
        items = [line for line in detail.lines if line.type is kind]
        if not items:
            continue
        lines.append(f"{title}：{DIRECTION[kind]} {fmt(amount)}")
        for line in items:
            text = f"  {line.code} {line.name}：{DIRECTION[kind]} {fmt(line.counted)}"
            if line.limit is not None:
                text += f"（合计 {fmt(line.total)}，{LIMIT_TEXT[line.limit]}"
                text += f" {fmt(line.limit_value)}）" if line.limit_value is not None else "）"
            lines.append(text)
            if explanation is not None:
                for e in explanation.entries.get(line.code, []):
                    reversal = f"，冲正第 {e.reverses_id} 条" if e.reverses_id else ""
                    lines.append(
                        f"      #{e.id} {e.entry_date} {fmt(e.points):>7}  {e.note}"
                        f"（录入：{e.entered_by}{reversal}）"
                    )
    if detail.bonus_capped and detail.bonus_cap is not None:
        lines.append(
            f"加分合计 {fmt(detail.bonuses_before_cap)}，超过加分上限 {fmt(detail.bonus_cap)}，"
            f"按 {fmt(detail.bonuses)} 计"
        )
    formula = (
        f"{fmt(detail.base)} − {fmt(detail.losses)} − {fmt(detail.deductions)} "
        f"+ {fmt(detail.bonuses)} = {fmt(detail.unfloored)}"
    )
    if detail.floored:
        formula += "，不低于 0，按 0.00 计"
    lines.append(f"合计：{formula}")
    return lines


def render_explanation(x: Explanation) -> str:
    """One unit's breakdown as plain text."""
    unit = x.score.unit
    status = "，末位" if x.ranked.bottom else ""
    lines = [
        f"{unit.name}（{unit.code}，{unit.group}）{x.period.label}："
        f"{fmt(x.score.score)} 分，组内第 {x.ranked.rank} 名 / 共 {len(x.group.units)} 个{status}"
    ]
    if x.score.detail is not None:
        lines += _detail_lines(x.score.detail, x)
    else:
        counted_note = _counted_note(x.period, x.counted)
        if counted_note:
            lines.append(counted_note.strip("（）"))
        for quarter, detail in x.score.quarters:
            lines.append(f"  {quarter.label}：{fmt(detail.score)}")
        mean = sum((Fraction(d.score) for _, d in x.score.quarters), Fraction(0)) / len(
            x.score.quarters
        )
        if x.period.kind is PeriodKind.HALF:
            lines.append(f"半年得分 = 季度平均 {fmt(mean)}")
        elif x.score.review is None:
            lines.append(f"年度得分 = 季度平均 {fmt(mean)}（尚未录入年终评议，按季度平均计）")
        else:
            weight = x.rules.review_weight
            lines.append(
                f"年度得分 = {1 - weight} × 季度平均 {fmt(mean)} + {weight} × 年终评议 "
                f"{fmt(x.score.review)} = {fmt(x.score.score)}"
            )
        first = x.score.quarters[0][0].code
        lines.append(f"各季度明细：kpibot score {unit.code} --period {first}")
    if x.ranked.to_pass_above is not None and x.above is not None:
        lines.append(
            f"距上一名 {x.above.name}（{x.above.unit_code}）：{_gap_text(x.ranked.to_pass_above)}"
        )
    if x.ranked.bottom:
        reasons = []
        if x.ranked.bottom_by_rank:
            reasons.append("组内末位")
        if x.ranked.below_alert:
            reasons.append(f"低于 {fmt(x.rules.alert_threshold)} 分预警线")
        lines.append(f"末位原因：{'，'.join(reasons)}")
        if x.ranked.to_leave_bottom is not None:
            lines.append(f"脱离末位：{_gap_text(x.ranked.to_leave_bottom)}")
        else:
            lines.append("本组单位数不超过末位名额，无法仅靠提高分数脱离末位")
    return "\n".join(lines)


def score_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="单位编码或名称")],
    period: PeriodOption = "本季度",
    as_json: JsonOption = False,
    today: TodayOption = None,
) -> None:
    """Explain one unit's score: every indicator, the entries behind it, its rank and gaps."""
    services = services_of(ctx)
    now = _today(today, services)
    with scoring_errors(), services.session() as session:
        explanation = queries.explain_unit(
            session=session, unit=unit, period=_period(period, now), today=now
        )
    if as_json:
        _echo_json(explanation.as_json())
    else:
        typer.echo(render_explanation(explanation))


# ---------------------------------------------------------------- demo


def ensure_demo_scores(services: Services, today: date | None = None) -> str | None:
    """Seed the demo units, ledger and reviews when the database has no units."""
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

"""``kpibot rulebook``: check, import and export the 考评指标细则."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say

if TYPE_CHECKING:
    from db.rulebook_store import RulebookPlan

app = chinese_typer("考评指标细则：校验、导入、导出")

FileArg = Annotated[Path, typer.Argument(help="YAML、CSV 或 XLSX 文件")]
FaqOption = Annotated[
    Path | None, typer.Option("--faq", help="CSV 细则的问答文件（编码、问题、答案）")
]


@app.command("check", cls=ChineseCommand, help="校验细则文件（YAML、CSV、XLSX），不写入数据库")
def check_command(file: FileArg, faq: FaqOption = None) -> None:
    """Validate a rulebook file without touching the database."""
    from scoring.rulebook_import import read_checked_rulebook

    with reported_errors():
        rulebook = read_checked_rulebook(file, faq_path=faq)
    counts: dict[str, int] = {}
    for item in rulebook.indicators:
        counts[item.type.value] = counts.get(item.type.value, 0) + 1
    summary = "、".join(f"{kind} {n} 项" for kind, n in counts.items())
    say(f"{file.name}：校验通过，共 {len(rulebook.indicators)} 项指标（{summary}）。")
    _echo_duplicates(rulebook.duplicates)


def _echo_duplicates(duplicates: int) -> None:
    if duplicates:
        say(f"文件内重复 {duplicates} 项（编码与内容均相同），已只保留一次。")


@app.command("import", cls=ChineseCommand, help="校验并导入细则；新版本中没有的指标停用而不删除")
def import_command(
    ctx: typer.Context,
    file: FileArg,
    faq: FaqOption = None,
    by: Annotated[str, typer.Option("--by", help="导入人（记入版本记录）")] = "cli",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只显示将新增、更新和停用哪些指标，不写入")
    ] = False,
    retire_missing: Annotated[
        bool,
        typer.Option("--retire-missing", help="确认停用文件中没有的指标（超过四分之一时必须）"),
    ] = False,
) -> None:
    """Validate and load a rulebook; codes missing from it are retired, not deleted."""
    from db.rulebook_store import UnconfirmedRetirementError
    from scoring.rulebook_import import import_rulebook_file, plan_rulebook_file

    services = services_of(ctx)
    with reported_errors(), services.session() as session:
        if dry_run:
            _, plan = plan_rulebook_file(session=session, path=file, faq_path=faq)
            _print_plan(file.name, plan)
            return
        try:
            rulebook, result = import_rulebook_file(
                session=session,
                path=file,
                faq_path=faq,
                imported_by=by,
                retire_missing=retire_missing,
            )
        except UnconfirmedRetirementError as exc:
            fail(
                f"{exc.problems[0]}\n如确认停用，请加 --retire-missing 重新导入"
                "（可先用 --dry-run 查看将新增、更新和停用哪些指标）。"
            )
    services.reload()
    started = time.perf_counter()
    services.matcher()  # build and calibrate the question index for this version now
    prepared = time.perf_counter() - started
    say(
        f"已导入《{rulebook.title}》（版本 #{result.version_id}）：新增 {len(result.added)} 项，"
        f"更新 {len(result.updated) + len(result.reactivated)} 项，"
        f"未变 {len(result.unchanged)} 项，"
        f"停用 {len(result.retired)} 项。"
    )
    if result.retired:
        say(f"已停用（保留历史）：{'、'.join(result.retired)}")
    if result.reactivated:
        say(f"重新启用：{'、'.join(result.reactivated)}")
    _echo_duplicates(rulebook.duplicates)
    say(f"问答索引已按本版细则建立并校准（{prepared:.1f} 秒）。")


def _print_plan(file: str, plan: RulebookPlan) -> None:
    changed = plan.updated + plan.reactivated
    say(
        f"{file}（试运行，未写入）：将新增 {len(plan.added)} 项，更新 {len(changed)} 项，"
        f"未变 {len(plan.unchanged)} 项，停用 {len(plan.retired)} 项。"
    )
    for label, codes in (("新增", plan.added), ("更新", changed), ("停用", plan.retired)):
        if codes:
            say(f"{label}：{'、'.join(codes)}")
    if plan.retires_many:
        say(
            f"注意：将停用的指标超过现有有效指标（{plan.active_before} 项）的四分之一，"
            "正式导入时需加 --retire-missing 确认。"
        )


@app.command("export", cls=ChineseCommand, help="把当前细则导出为 YAML 或 XLSX")
def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="导出为 .yaml 或 .xlsx")],
) -> None:
    """Write the live rulebook back to YAML or XLSX."""
    from knowledge.rulebook_writers import write_rulebook

    services = services_of(ctx)
    with reported_errors():
        rulebook = services.rulebook()
        if rulebook is None:
            say("数据库中还没有考评指标细则。", err=True)
            raise typer.Exit(1)
        write_rulebook(rulebook, file)
    say(f"已导出 {len(rulebook.indicators)} 项指标到 {file}。")

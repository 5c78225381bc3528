"""``kpibot rulebook``: check, import and export the 考评指标细则."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.context import reported_errors, services_of

app = typer.Typer(help="考评指标细则：校验、导入、导出", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="YAML、CSV 或 XLSX 文件")]
FaqOption = Annotated[
    Path | None, typer.Option("--faq", help="CSV 细则的问答文件（编码、问题、答案）")
]


@app.command("check", help="校验细则文件（YAML、CSV、XLSX），不写入数据库")
def check_command(file: FileArg, faq: FaqOption = None) -> None:
    """Validate a rulebook file without touching the database."""
    from scoring.rulebook_import import read_checked_rulebook

    with reported_errors():
        rulebook = read_checked_rulebook(file, faq_path=faq)
    counts: dict[str, int] = {}
    for item in rulebook.indicators:
        counts[item.type.value] = counts.get(item.type.value, 0) + 1
    summary = "、".join(f"{kind} {n} 项" for kind, n in counts.items())
    typer.echo(f"{file.name}：校验通过，共 {len(rulebook.indicators)} 项指标（{summary}）。")


@app.command("import", help="校验并导入细则；新版本中没有的指标停用而不删除")
def import_command(
    ctx: typer.Context,
    file: FileArg,
    faq: FaqOption = None,
    by: Annotated[str, typer.Option("--by", help="导入人（记入版本记录）")] = "cli",
) -> None:
    """Validate and load a rulebook; codes missing from it are retired, not deleted."""
    from scoring.rulebook_import import import_rulebook_file

    services = services_of(ctx)
    with reported_errors(), services.session() as session:
        rulebook, result = import_rulebook_file(
            session=session, path=file, faq_path=faq, imported_by=by
        )
    services.reload()
    typer.echo(
        f"已导入《{rulebook.title}》（版本 #{result.version_id}）：新增 {len(result.added)} 项，"
        f"更新 {len(result.updated) + len(result.reactivated)} 项，"
        f"未变 {len(result.unchanged)} 项，"
        f"停用 {len(result.retired)} 项。"
    )
    if result.retired:
        typer.echo(f"已停用（保留历史）：{'、'.join(result.retired)}")
    if result.reactivated:
        typer.echo(f"重新启用：{'、'.join(result.reactivated)}")


@app.command("export", help="把当前细则导出为 YAML 或 XLSX")
def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="导出为 .yaml 或 .xlsx")],
) -> None:
    """Write the live rulebook back to YAML or XLSX."""
    from knowledge.rulebook_files import write_rulebook

    services = services_of(ctx)
    with reported_errors():
        rulebook = services.rulebook()
        if rulebook is None:
            typer.echo("数据库中还没有考评指标细则。", err=True)
            raise typer.Exit(1)
        write_rulebook(rulebook, file)
    typer.echo(f"已导出 {len(rulebook.indicators)} 项指标到 {file}。")

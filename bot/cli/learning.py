"""``kpibot questions``, ``kpibot synonyms`` and ``kpibot report questions``: the review loop.

The use cases (:mod:`bot.learning`) are imported inside each command, so ``kpibot --help``
does not pay for the database layer.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say
from bot.cli.questions import report_app

questions_app = chinese_typer("问法学习：把未回答的问题归入指标")
synonyms_app = chinese_typer("同义词表：日常用语 → 规范用语")

ByOption = Annotated[str, typer.Option("--by", help="操作人（记入学习记录）")]
ATTACH_HINT = "kpibot questions attach 组号或问题编号 指标编码"


@questions_app.command(
    "attach",
    cls=ChineseCommand,
    help="把一个问题（编号）或一组相似问题（如 G12）归入指标，立即生效",
)
def attach_command(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="问题组（如 G12）或问题编号（如 12）")],
    code: Annotated[str, typer.Argument(help="指标编码")],
    by: ByOption = "cli",
) -> None:
    """Attach an unanswered question, or a group of similar ones, to an indicator."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        attached = learning.attach(services, reference, code, by=by)
        say(services.renderer.plain("attached.html.j2", attached=attached))


@questions_app.command("learned", cls=ChineseCommand, help="列出已学会的问法")
def learned_command(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Option("--code", help="只列出该指标的问法")] = None,
) -> None:
    """List the learned phrasings (all, or one indicator's)."""
    from knowledge.learned import learned_of

    services = services_of(ctx)
    with reported_errors():
        rulebook = services.rulebook()
    phrasings = [
        p
        for p in (learned_of(rulebook) if rulebook is not None else ())
        if code is None or p.code.upper() == code.upper()
    ]
    if not phrasings:
        say("暂无已学会的问法。")
        return
    for phrasing in phrasings:
        say(f"{phrasing.code}\t{phrasing.question}\t{phrasing.source.label}\t{phrasing.by}")


@questions_app.command(
    "forget", cls=ChineseCommand, help="删除一条已学会的问法（指标编码 问法），立即生效"
)
def forget_command(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="指标编码")],
    question: Annotated[str, typer.Argument(help="问法，与 kpibot questions learned 所列一致")],
) -> None:
    """Remove one learned phrasing."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        removed = learning.forget(services, code, question)
    if not removed:
        fail(f"指标 {code} 没有这条已学会的问法。")
    say("已删除这条问法，立即生效。")


@synonyms_app.command(
    "import",
    cls=ChineseCommand,
    help="导入同义词表（CSV 或 XLSX，列：日常用语、规范用语），立即生效",
)
def import_synonyms_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件")],
    by: ByOption = "cli",
) -> None:
    """Add a synonym table's pairs to the office synonym table."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        added, known = learning.import_synonyms(services, file, by=by)
    say(f"{file.name}：新增同义词 {added} 条，已有 {known} 条。")


@synonyms_app.command("list", cls=ChineseCommand, help="列出同义词表")
def list_synonyms_command(ctx: typer.Context) -> None:
    """Print the office synonym table."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        table = learning.synonyms(services)
    say(services.renderer.plain("synonyms.html.j2", synonyms=table))


@synonyms_app.command("add", cls=ChineseCommand, help="添加一条同义词：日常用语 规范用语")
def add_synonym_command(
    ctx: typer.Context,
    word: Annotated[str, typer.Argument(help="日常用语，如 排队")],
    term: Annotated[str, typer.Argument(help="规范用语，如 等候时长")],
    by: ByOption = "cli",
) -> None:
    """Add one everyday word → official term pair."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        added = learning.set_synonym(services, word, term, by=by)
    say(f"已添加：{word} → {term}" if added else f"已有：{word} → {term}")


@synonyms_app.command("remove", cls=ChineseCommand, help="删除一个日常用语（或它的某个规范用语）")
def remove_synonym_command(
    ctx: typer.Context,
    word: Annotated[str, typer.Argument(help="日常用语")],
    term: Annotated[str | None, typer.Argument(help="规范用语；省略时删除该词的全部条目")] = None,
) -> None:
    """Remove an everyday word from the synonym table."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        removed = learning.remove_synonym(services, word, term)
    if not removed:
        fail(f"同义词表中没有“{word}”。")
    say(f"已删除 {removed} 条同义词。")


@report_app.command(
    "questions",
    cls=ChineseCommand,
    help="问答情况：各指标的提问、回答、澄清、点赞点踩，从未被问的指标",
)
def questions_report_command(
    ctx: typer.Context,
    groups: Annotated[int, typer.Option("--groups", min=0, help="列出多少组未回答问题")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Per indicator: asked, answered, clarified, resolved, 👍/👎; never asked; open groups."""
    from bot import learning

    services = services_of(ctx)
    with reported_errors():
        report = learning.questions_report(services, groups=groups)
    if not as_json:
        text = services.renderer.plain(
            "questions_report.html.j2", report=report, attach_hint=ATTACH_HINT
        )
        say(text)
        return
    document = {
        "total": report.total,
        "unanswered": report.unanswered,
        "indicators": [
            {"code": line.code, "name": line.name, **asdict(line.counts)} for line in report.lines
        ],
        "never_asked": [{"code": i.code, "name": i.name} for i in report.never_asked],
        "unanswered_groups": [
            {
                "group": g.label,
                "question": g.example,
                "count": g.count,
                "candidates": list(g.candidates),
                "ids": list(g.question_ids),
            }
            for g in report.groups
        ],
    }
    say(json.dumps(document, ensure_ascii=False, indent=2))

"""``kpibot ask`` and ``kpibot report unanswered``: the rulebook Q&A from the command line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of, stdin_is_terminal
from bot.cli.output import say
from bot.core.reply import html_to_plain

if TYPE_CHECKING:
    from knowledge.matcher import MatchResult

report_app = chinese_typer("报表")
BATCH = 500


def result_json(result: MatchResult) -> str:
    """One result as the documented JSON object."""
    return json.dumps(
        {
            "question": result.question,
            "status": result.status.value,
            "matches": [{"code": m.code, "name": m.name, "score": m.score} for m in result.matches],
        },
        ensure_ascii=False,
    )


def ask_command(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="问题；省略时从标准输入逐行读取")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（每个问题一行）")] = False,
) -> None:
    """Ask what an indicator means; prints the card, the candidates or the none message."""
    services = services_of(ctx)
    with reported_errors():
        conversation = services.conversation
        matcher = services.matcher()
        if matcher is None:
            fail(html_to_plain(services.renderer.html("no_rulebook.html.j2")))
        if question is not None:
            if not question.strip():
                fail('问题为空。用法：kpibot ask "问题"')
            result = matcher.match_question(question)
            conversation.record([result], channel="cli")
            if as_json:
                say(result_json(result))
            else:
                say(html_to_plain(conversation.reply_for(result).text))
            return
        if stdin_is_terminal():
            say("请逐行输入问题，Ctrl-D 结束：", err=True)
        pending: list[MatchResult] = []
        out = sys.stdout
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            result = matcher.match_question(text)
            pending.append(result)
            if as_json:
                out.write(result_json(result) + "\n")
            else:
                out.write(html_to_plain(conversation.reply_for(result).text) + "\n\n")
            if len(pending) >= BATCH:
                conversation.record(pending, channel="cli")
                pending.clear()
        conversation.record(pending, channel="cli")
        out.flush()


@report_app.command(
    "unanswered", cls=ChineseCommand, help="列出未能直接回答的问题，相似问题归组、按次数排序"
)
def unanswered_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多列出多少组")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Questions the rulebook could not answer, similar ones grouped, most frequent first."""
    from bot.learning import unanswered_groups

    services = services_of(ctx)
    with reported_errors():
        total, groups = unanswered_groups(services)
    groups = groups[:limit]
    if as_json:
        say(
            json.dumps(
                [
                    {
                        "group": g.label,
                        "question": g.example,
                        "count": g.count,
                        "variants": list(g.variants),
                        "statuses": dict(g.statuses),
                        "candidates": list(g.candidates),
                        "ids": list(g.question_ids),
                    }
                    for g in groups
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not groups:
        say("暂无未能回答的问题。")
        return
    say(f"未能直接回答的问题（共 {total} 条，{len(groups)} 组，按次数排序）：")
    for group in groups:
        statuses = "、".join(
            f"{'待确认' if s == 'clarify' else '未覆盖'} {n}" for s, n in group.statuses
        )
        say(f"{group.label:>5}. [{group.count} 次] {group.example}（{statuses}）")
        for variant in group.variants:
            say(f"       · {variant}")
        if group.candidates:
            say(f"       可能相关：{'、'.join(group.candidates)}")
    say(
        "归入指标（立即生效）：kpibot questions attach 组号 指标编码，如 "
        f"kpibot questions attach {groups[0].label} 指标编码"
    )

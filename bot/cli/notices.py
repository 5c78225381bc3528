"""``kpibot remind`` and ``kpibot notices``: the monthly rectification notices by hand.

Thin: parse, call :class:`scoring.rectification.Rectification`, print. Sending goes through the
same outbox as the running bot, so the two never send a notice twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say, say_json
from bot.core.reply import html_to_plain

if TYPE_CHECKING:
    from bot.services import Services
    from scoring.outbox import DrainReport
    from scoring.rectification import Rectification, RunReport

app = chinese_typer("整改通报：汇总查看")

MonthOption = Annotated[str, typer.Option("--month", "-m", help="月份，如 2026-10")]
TodayOption = Annotated[
    datetime | None,
    typer.Option("--today", formats=["%Y-%m-%d"], help="按此日期运行（默认今天）", hidden=True),
]
RETRY_WAIT = 60.0


def _rectification(services: Services, today: datetime | None) -> Rectification:
    """The notices as of ``today`` at the configured time (the clock shifted, not frozen)."""
    from bot.services import Clock
    from bot.services import utc_now as utcnow

    if today is not None:
        settings = services.settings
        target = datetime.combine(today.date(), settings.notice_time, tzinfo=settings.zone)
        offset = target - utcnow()
        services.use_clock(Clock(settings.zone, utc_now=lambda: utcnow() + offset))
    return services.rectification


def _print_report(report: RunReport) -> None:
    month = report.month
    mode = "（试运行，未写入任何数据）" if report.dry_run else ""
    say(f"{month.label}整改通报{mode}：末位或预警单位 {len(report.notices)} 个")
    for notice in report.notices:
        head = (
            f"  {notice.group} 第 {notice.rank}/{notice.group_size} 名 "
            f"{notice.unit_name}（{notice.unit_code}）{notice.score} 分"
        )
        if notice.recipients:
            who = "、".join(str(to) for to in notice.recipients)
            say(f"{head} → 绩效联络员 {who}")
        else:
            reported = "将报告绩效办" if report.dry_run else "已报告绩效办"
            say(f"{head} → ⚠ 未绑定绩效联络员，{reported}")
    if report.office:
        say("绩效办接收：" + "、".join(str(to) for to in report.office))
    else:
        say("⚠ 未配置绩效办会话（KPIBOT_OFFICE_CHAT_IDS），也没有绑定的管理员。")
    kinds = Counter(kind for kind, _ in report.queued)
    summary = "，".join(
        f"{ {'notice': '通报', 'digest': '汇总'}.get(k, k) } {n} 条" for k, n in kinds.items()
    )
    verb = "将发送" if report.dry_run else "新加入发送队列"
    say(f"{verb} {len(report.queued)} 条" + (f"（{summary}）" if summary else ""))


def _print_dry_messages(report: RunReport) -> None:
    from db.outbox_store import DeliveryKind

    queued_notices = {to for kind, to in report.queued if kind == DeliveryKind.NOTICE.value}
    for notice in report.notices:
        for to in notice.recipients:
            if to not in queued_notices:
                continue
            say(f"\n—— 发往 {to}（{notice.unit_code} 绩效联络员）——")
            say(html_to_plain(notice.text))
            say("[按钮] 已阅 | 报送整改措施")


async def _send_now(services: Services, rectification: Rectification) -> DrainReport:
    # Telegram is imported only when something is sent now, not for every kpibot command.
    from telegram.ext import AIORateLimiter, ExtBot

    from bot.telegram.network import RetryingRequest
    from bot.telegram.notices import telegram_sender

    settings = services.settings
    assert settings.telegram_token is not None
    bot: ExtBot[int] = ExtBot(
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        request=RetryingRequest(connection_pool_size=16),
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    sender = telegram_sender(bot, services, now=rectification.now)
    async with bot:
        return await sender.drain(wait_for_retries=RETRY_WAIT)


def remind_command(
    ctx: typer.Context,
    month: MonthOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只显示将发送的内容和对象，不写入、不发送")
    ] = False,
    send: Annotated[
        bool,
        typer.Option("--send/--no-send", help="配置了机器人令牌时立即发送（默认）"),
    ] = True,
    today: TodayOption = None,
) -> None:
    """Issue a month's rectification notices to the bottom-ranked units' liaisons."""
    from scoring.rectification import NoticeError

    services = services_of(ctx)
    rectification = _rectification(services, today)
    with reported_errors():
        try:
            period = rectification.parse_month(month)
            report = rectification.run_month(period, source="cli", dry_run=dry_run)
        except NoticeError as exc:
            fail(str(exc))
    _print_report(report)
    if dry_run:
        _print_dry_messages(report)
        return
    if services.settings.telegram_token is None or not send:
        say("消息已在发送队列中，将由运行中的机器人（kpibot run）发出。")
        return
    import asyncio  # only sending now needs an event loop; every other command goes without

    result = asyncio.run(_send_now(services, rectification))
    say(
        f"已发送 {result.sent} 条，失败 {result.failed} 条，"
        f"对方已屏蔽 {result.blocked} 条，稍后重试 {result.retried} 条，"
        f"未获确认（待确认，不再重发）{result.uncertain} 条。"
    )


@app.command("list", cls=ChineseCommand, help="查看某月整改通报汇总：送达、已阅、整改措施、逾期")
def list_command(
    ctx: typer.Context,
    month: MonthOption,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    today: TodayOption = None,
) -> None:
    """The office's digest of a month: delivery, acknowledgement, measures, overdue."""
    from scoring.rectification import NoticeError

    services = services_of(ctx)
    rectification = _rectification(services, today)
    with reported_errors():
        try:
            digest = rectification.digest(rectification.parse_month(month))
        except NoticeError as exc:
            fail(str(exc))
    if as_json:
        say_json(digest.as_json())
    else:
        say(rectification.digest_plain(digest))

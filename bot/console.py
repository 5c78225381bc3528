"""The console front door: the shared conversation in a terminal, buttons as numbered choices."""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation import Button, Conversation, Reply
from bot.render import html_to_plain

WELCOME = (
    "您好！这里是绩效考评助手（控制台）。请直接输入您的问题，例如“非接触式办税怎么考核”。\n"
    "输入序号选择选项，输入 /help 查看帮助，输入 /quit 退出。"
)
HELP = (
    "可以这样用：\n"
    "· 直接提问：某个指标什么意思、怎么计分、什么情况扣分\n"
    "· /indicator 编码：直接查看指标，如 /indicator DL-01\n"
    "· 回复序号：选择上一条回复中的选项\n"
    "· /quit：退出"
)


class ConsoleChat:
    """A read-eval-print loop over :class:`Conversation`."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self.conversation = conversation
        self.read = read
        self.write = write
        self.choices: tuple[Button, ...] = ()

    def show(self, reply: Reply) -> None:
        """Print a reply and remember its buttons as numbered choices."""
        self.write(html_to_plain(reply.html))
        self.choices = reply.buttons
        for number, button in enumerate(reply.buttons, start=1):
            self.write(f"  [{number}] {button.label}")

    def handle(self, line: str) -> bool:
        """Handle one line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit", "退出", "q"):
            return False
        if text in ("/help", "帮助"):
            self.write(HELP)
            return True
        if text.startswith("/indicator"):
            code = text.removeprefix("/indicator").strip()
            if not code:
                self.write("用法：/indicator 指标编码，例如 /indicator DL-01")
                return True
            self.show(self.conversation.card(code))
            return True
        if text.isdigit() and self.choices:
            index = int(text) - 1
            if 0 <= index < len(self.choices):
                self.show(self.conversation.press(self.choices[index].data))
            else:
                self.write(f"请输入 1 到 {len(self.choices)} 之间的序号。")
            return True
        self.show(self.conversation.ask(text))
        return True

    def run(self) -> None:
        """Loop until /quit or end of input."""
        self.write(WELCOME)
        while True:
            try:
                line = self.read("\n您的问题> ")
            except (EOFError, KeyboardInterrupt):
                self.write("")
                return
            if not self.handle(line):
                self.write("再见！")
                return

"""The one base error for what a user got wrong, and the one sentence every door shows for it."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.files import InputError


class UserError(Exception):
    """A request the user must change: the message is one polite Chinese sentence (or a list
    of problems), shown as is by every door; nothing was changed."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)


STALE_BUTTON = "该按钮已失效，请重新提问。"


class StaleButtonError(UserError):
    """A button payload the core does not know, or one that was tampered with."""

    def __init__(self) -> None:
        super().__init__(STALE_BUTTON)


def from_input_error(exc: InputError) -> UserError:
    """A file or argument refused with its problems, as the user error every door shows."""
    return UserError(exc.headline, exc.lines())

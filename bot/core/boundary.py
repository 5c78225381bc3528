"""The one outgoing boundary: every text a door sends passes :func:`outgoing` first.

Replies of the core are sealed by the dispatcher (:func:`seal`); the few texts a door writes
itself (flood warning, internal error) and every line the CLI prints (text and JSON) pass
:func:`outgoing` too, so a new reply or a new door cannot forget the masking. The database
keeps what was entered; only what leaves is masked.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TextIO

from bot.core.reply import Attachment, Button, Reply
from knowledge.privacy import mask_personal_data


def outgoing(text: str) -> str:
    """A text about to leave the system, with personal identifiers masked."""
    return mask_personal_data(text)


TEXT_FILES = (".csv", ".txt", ".json", ".yaml", ".yml", ".md", ".html")


def seal(reply: Reply) -> Reply:
    """The reply with its text, button labels and text attachments (exports) passed through
    :func:`outgoing`."""
    rows = tuple(tuple(Button(outgoing(b.label), b.data) for b in row) for row in reply.rows)
    attachments = tuple(_sealed_attachment(a) for a in reply.attachments)
    return replace(reply, text=outgoing(reply.text), rows=rows, attachments=attachments)


def _sealed_attachment(attachment: Attachment) -> Attachment:
    if not attachment.name.lower().endswith(TEXT_FILES):
        raise ValueError(
            f"attachment {attachment.name}: only text exports can be masked on the way out"
        )
    text = attachment.data.decode("utf-8-sig")
    return Attachment(attachment.name, outgoing(text).encode("utf-8"))


class MaskedStream(io.TextIOBase):
    """A text stream that masks each line before it reaches the stream it wraps.

    Lines are masked whole (no identifier spans a line break); a partial line (a prompt) is
    masked and written when the stream is flushed.
    """

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.target.write(outgoing(line) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.target.write(outgoing(self._pending))
            self._pending = ""
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self.target.fileno()


@contextmanager
def masked_standard_streams() -> Iterator[None]:
    """Everything printed to stdout and stderr meanwhile passes :func:`outgoing`.

    The CLI enters this for every command, so a new command cannot print personal data by
    forgetting to mask it. Logging handlers made before keep the raw streams: the log stays
    on the server, with what happened.
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskedStream(sys.stdout), MaskedStream(sys.stderr)
    try:
        yield
    finally:
        masked_out, masked_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = saved
        for stream in (masked_out, masked_err):
            stream.flush()

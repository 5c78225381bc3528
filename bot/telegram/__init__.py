"""The Telegram front door: python-telegram-bot handlers over the shared conversation."""

import os

# Opt in to python-telegram-bot's timedelta time periods (RetryAfter.retry_after): the int
# form is deprecated and warns on every flood-control answer.
os.environ.setdefault("PTB_TIMEDELTA", "true")

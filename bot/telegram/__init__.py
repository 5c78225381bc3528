"""The Telegram front door: python-telegram-bot handlers over the shared conversation."""

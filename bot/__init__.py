"""Front doors of kpibot: the command line, the console chat and (later) Telegram."""

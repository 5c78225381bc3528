"""Scoring: the points ledger, period scores and rankings (日积分、季排名、半年考核、年终评议).

Pure logic (rules, periods, computation, ranking, file parsing, demo data) plus the
functions the CLI and the bot call (:mod:`scoring.entry` writes, :mod:`scoring.queries`
reads), which reach the database only through :mod:`db.scoring_store`.
"""

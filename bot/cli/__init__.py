"""The ``kpibot`` command line: one module per command group, wired in :mod:`bot.cli.main`."""

"""Python's cyclic garbage collector over the life of a ``kpibot`` process.

Starting a command builds only long-lived objects: the command table, the settings and the
hundreds of modules behind them. The collector finds no garbage among them, yet as the heap
grows it walks them again and again; and at exit the interpreter's last collections walk
every object once more, although the process is about to release them all. Together that
was about a fifth of the CPU of a fresh ``kpibot ask`` (docs/benchmarks.md, "Start-up").

So :func:`bot.cli.main.main`, the process's entry point, pauses the collector until the
command is about to run, then freezes what start-up built (``gc.freeze``: left out of later
collections, still released by reference counting) and resumes it; the command's own work is
collected as usual. At exit it freezes everything: atexit handlers, the flushing of the
standard streams and module teardown run as before, and only finalizers of objects caught in
reference cycles at exit are skipped, which Python never promises to run.

Tests run commands in their own process through :data:`bot.cli.main.app`, never through
``main``, so the collector of a test process is left alone.
"""

from __future__ import annotations

import gc


class _StartUp:
    paused = False  # set only by pause_for_start_up, in a process started by main()


def pause_for_start_up() -> None:
    """Stop automatic collection until :func:`resume_after_start_up` (process entry only)."""
    if gc.isenabled():
        gc.disable()
        _StartUp.paused = True


def resume_after_start_up() -> None:
    """Freeze what start-up built and collect as usual again; nothing unless paused."""
    if _StartUp.paused:
        _StartUp.paused = False
        gc.freeze()
        gc.enable()


def release_at_exit() -> None:
    """Leave every object out of the interpreter's final collections."""
    gc.freeze()

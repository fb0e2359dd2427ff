"""What every command shares: the error a user can fix, a progress bar, and the database
migrated before a command works on it."""

from __future__ import annotations

import sys
import time


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def engine():  # noqa: ANN201
    from energy_core.db import get_engine

    return get_engine()


def upgrade() -> None:
    from energy_core.migrate import upgrade_database

    upgrade_database(engine())


def instant(value: str):  # noqa: ANN201
    """An argparse type: an ISO 8601 instant with an offset (``--now``)."""
    import argparse

    from energy_core.clock import parse_instant

    try:
        return parse_instant(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pinned_clock(at):  # noqa: ANN001, ANN201
    """The clock pinned at ``at`` for the command (``--now``), or left alone when it is None."""
    from contextlib import nullcontext

    from energy_core.clock import pinned_now

    return nullcontext() if at is None else pinned_now(at)


def progress_printer(label: str):  # noqa: ANN202
    state = {"last": 0.0}

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - state["last"] < 0.5:
            return
        state["last"] = now
        width = 30
        filled = int(width * done / total) if total else width
        sys.stdout.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
        if done >= total:
            sys.stdout.write("\n")
        sys.stdout.flush()

    return progress

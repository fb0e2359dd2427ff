"""What every command shares: the error a user can fix, a progress bar, the database
migrated before a command works on it, the options of a household's commands and the table or
JSON a list command prints."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def engine():  # noqa: ANN201
    from energy_core.db import get_engine

    return get_engine()


def upgrade() -> None:
    from energy_core.migrate import upgrade_database

    upgrade_database(engine())


@contextmanager
def household_scope(email: str, *, read_only: bool = False):  # noqa: ANN201
    """The database migrated, then a transaction (``read_only``) and the user of ``email``:
    ``with household_scope(args.user) as (session, user):``."""
    from energy_core.accounts import require_user
    from energy_core.db import session_scope
    from energy_core.household_scope import act_for_household

    upgrade()
    with session_scope(read_only=read_only) as session:
        user = require_user(session, email=email)
        # The command works for this household only (row-level security on PostgreSQL).
        act_for_household(session, user.id, pin=True)
        yield session, user


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


def command_group(
    commands: argparse._SubParsersAction,
    name: str,
    *,
    help: str,  # noqa: A002
) -> argparse._SubParsersAction:
    """The commands of group ``name`` (``energy-monitor NAME COMMAND``); one must be given."""
    group = commands.add_parser(name, help=help)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def command(
    commands: argparse._SubParsersAction, name: str, func: Callable, **options: object
) -> argparse.ArgumentParser:
    """The parser of command ``name``, running ``func``; ``options`` are the parser's (help,
    description)."""
    parser = commands.add_parser(name, **options)
    parser.set_defaults(func=func)
    return parser


def household_command(
    commands: argparse._SubParsersAction, name: str, func: Callable, **options: object
) -> argparse.ArgumentParser:
    """The parser of command ``name`` (running ``func``) about one household, named first by
    ``--user``; ``options`` are the parser's (help, description)."""
    parser = command(commands, name, func, **options)
    parser.add_argument("--user", required=True, help="owner's email")
    return parser


def now_option(parser: argparse.ArgumentParser, *, doing: str) -> None:
    """``--now``: what the command does (``doing``) happens as at that instant, so that a run can
    be repeated exactly (demo data, tests)."""
    parser.add_argument(
        "--now",
        type=instant,
        metavar="ISO",
        help=f"{doing} this instant (ISO 8601 with an offset, e.g. 2026-11-30T18:00:00Z); "
        "default ENERGY_NOW, else the real time",
    )


def json_option(parser: argparse.ArgumentParser, help: str = "print JSON") -> None:  # noqa: A002
    parser.add_argument("--json", action="store_true", help=help)


def print_listing(
    rows: Sequence[dict], columns: Sequence[tuple[str, str]], *, empty: str, as_json: bool
) -> int:
    """What a list command prints: ``rows`` as JSON, or as the table of ``columns``; 0, its exit
    status."""
    if as_json:
        print_json(rows)
    else:
        print_table(rows, columns, empty)
    return 0


def print_table(rows: Sequence[dict], columns: Sequence[tuple[str, str]], empty: str) -> None:
    """``rows`` as aligned columns (``columns``: key, heading); ``empty`` when there are none."""
    if not rows:
        print(empty)
        return
    cells = [[_cell(row[key]) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headings)]
    for line in [headings, *cells]:
        print(
            "  ".join(
                value.ljust(width) for value, width in zip(line, widths, strict=True)
            ).rstrip()
        )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def print_json(rows: Sequence[dict]) -> None:
    print(json.dumps(list(rows), default=_json_value, ensure_ascii=False, indent=2))


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")

"""``energy-monitor``: the parser and the entry point. Other tools script against these
commands, so keep them stable."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from energy_cli import (
    accounts,
    alerts,
    ask,
    data,
    importing,
    inputs,
    manage,
    run,
    summary,
    tariffs,
)
from energy_cli.console import CliError
from energy_core.settings import get_settings


def configure(args: argparse.Namespace) -> None:
    """Apply global options as settings; children inherit them through the environment.

    A relative SQLite file is resolved here, once, against the working directory of the command:
    every process it starts then opens that same file, wherever it runs.
    """
    from energy_core import db

    if getattr(args, "database_url", None):
        os.environ["ENERGY_DATABASE_URL"] = args.database_url
    get_settings.cache_clear()
    url = get_settings().database_url
    absolute = db.absolute_database_url(url)
    if absolute != url:
        os.environ["ENERGY_DATABASE_URL"] = absolute
        get_settings.cache_clear()
    db.get_engine.cache_clear()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energy-monitor",
        description="Home energy monitor: ingest API, aggregation scheduler and analyst app.",
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy/PostgreSQL URL (default: ENERGY_DATABASE_URL or sqlite:///./data/energy.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_commands(sub)
    manage.add_commands(sub)
    accounts.add_commands(sub)
    data.add_commands(sub)
    ask.add_commands(sub)
    importing.add_commands(sub)
    inputs.add_commands(sub)
    tariffs.add_commands(sub)
    alerts.add_commands(sub)
    summary.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure(args)
    except ValueError as exc:  # pydantic's ValidationError: an ENERGY_* variable is wrong
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request and Alembic every plugin at INFO: noise in a terminal.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from energy_core.errors import CoreError

    try:
        return args.func(args)
    except (CliError, CoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

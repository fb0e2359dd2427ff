"""The household's data kept safe: ``backup FILE``, ``restore FILE`` and ``export --user E``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from energy_cli.console import CliError, command, engine, upgrade
from energy_core.settings import get_settings


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in rows.items())


def cmd_backup(args: argparse.Namespace) -> int:
    from energy_core.backup import backup_postgresql, backup_sqlite, sqlite_file

    dest = Path(args.file).expanduser()
    database = sqlite_file(get_settings().database_url)
    if database is not None:
        copied = backup_sqlite(database, dest, force=args.force)
        how = "SQLite online backup"
    else:
        copied = backup_postgresql(engine(), dest, force=args.force)
        how = "pg_dump, custom format; restore with `energy-monitor restore` or pg_restore"
    size = copied.path.stat().st_size
    print(f"Wrote {copied.path} ({size / 1e6:,.1f} MB, {how}): {_rows(copied.rows)}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from energy_core.backup import restore_postgresql, restore_sqlite, sqlite_file

    source = Path(args.file).expanduser()
    database = sqlite_file(get_settings().database_url)
    if database is not None:
        engine().dispose()  # this process keeps no connection open on the file it replaces
        copied = restore_sqlite(source, database, force=args.force)
        target = str(database)
    else:
        copied = restore_postgresql(engine(), source, force=args.force)
        target = "the PostgreSQL database"
    upgrade()  # a backup of an older version gets this version's schema
    print(f"Restored {source} into {target}: {_rows(copied.rows)}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from energy_core.accounts import require_user
    from energy_core.db import session_scope
    from energy_core.export import export_household
    from energy_core.types import utcnow

    upgrade()
    now = utcnow()
    with session_scope(read_only=True) as session:
        user = require_user(session, email=args.user)
        name = args.output or f"energy-export-{user.email.split('@')[0]}-{now:%Y%m%d}.zip"
        dest = Path(name).expanduser()
        if dest.exists() and not args.force:
            raise CliError(f"{dest} exists already; choose another name or add --force.")
        partial = dest.with_name(dest.name + ".partial")
        try:
            with partial.open("wb") as out:
                exported = export_household(session, user_id=user.id, out=out, at=now)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, dest)
    print(f"Wrote {dest} for {user.email}: {_rows(exported.rows)} (README.txt lists the columns).")
    return 0


def _file_command(
    sub: argparse._SubParsersAction, name: str, func: Callable, *, force: str, **options: object
) -> None:
    """A command on the backup FILE that refuses to destroy anything unless ``--force`` (whose
    help is ``force``) is given."""
    parser = command(sub, name, func, **options)
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--force", action="store_true", help=force)


def add_commands(sub: argparse._SubParsersAction) -> None:
    _file_command(
        sub,
        "backup",
        cmd_backup,
        force="overwrite FILE if it exists",
        help="copy the whole database to FILE while everything runs",
        description="SQLite: an online backup, consistent at one instant while the API writes. "
        "PostgreSQL: pg_dump in its custom format (it must be at least as new as the server; "
        "this is checked).",
    )
    _file_command(
        sub,
        "restore",
        cmd_restore,
        force="replace a database that holds users",
        help="replace the database with a backup FILE",
        description="Stop the API, the scheduler and the app first. A database that holds users "
        "is replaced only with --force. The restored database is then upgraded to this "
        "version's schema.",
    )
    export = command(
        sub,
        "export",
        cmd_export,
        help="write all of a household's data as CSV files in one zip",
        description="Devices, every reading, the hourly aggregates and the chat messages of one "
        "household, with a README.txt of the columns.",
    )
    export.add_argument("--user", required=True, help="the household's email")
    export.add_argument(
        "--output", "-o", metavar="FILE", help="default energy-export-<name>-<date>.zip"
    )
    export.add_argument("--force", action="store_true", help="overwrite the file if it exists")

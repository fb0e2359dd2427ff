"""A copy of the whole database while everything runs, and bringing one back.

SQLite: the online backup API copies every page in one read transaction, so the copy is the
database as it was at one instant, whatever the writers do meanwhile (WAL lets them go on).
PostgreSQL: ``pg_dump`` (custom format) does the same from a snapshot; it must be at least as new
as the server, which is checked before it runs. Restoring refuses to overwrite a database that
holds users unless forced.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, cast

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from energy_core.errors import ConflictError, CoreError, ErrorKind
from energy_core.household_scope import SYSTEM_SCOPE_OPTION, enter_system_scope
from energy_core.settings import normalize_database_url

COUNTED_TABLES = ("users", "devices", "readings", "hourly_aggregates", "chat_messages")


class BackupError(CoreError):
    """A backup or restore that cannot be done as asked; the message says what to do."""

    kind = ErrorKind.invalid
    code = "backup_failed"


@dataclass(frozen=True)
class Copied:
    """What a backup or a restore copied: the file and its rows per table."""

    path: Path
    rows: dict[str, int]


def sqlite_file(database_url: str) -> Path | None:
    """The file of an SQLite database URL; None for PostgreSQL (and in-memory SQLite)."""
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _rows(conn: sqlite3.Connection) -> dict[str, int]:
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in COUNTED_TABLES
        if table in present
    }


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ConflictError(f"{path} exists already; choose another name or add --force.")


def backup_sqlite(database: Path, dest: Path, *, force: bool = False) -> Copied:
    """Copy the SQLite ``database`` to ``dest`` while it is in use; ``dest`` appears only when the
    copy is complete and checked."""
    if not database.exists():
        raise BackupError(f"There is no database at {database} to back up.")
    _refuse_existing(dest, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        # pages=-1 (the default): all pages in one step, i.e. one snapshot. In steps, every
        # write by another connection would restart the copy.
        source.backup(copy)
        # One self-contained file, not a WAL database with side files.
        copy.execute("PRAGMA journal_mode=DELETE")
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"The copy of {database} failed its integrity check; try again.")
        rows = _rows(copy)
    finally:
        copy.close()
        source.close()
    os.replace(partial, dest)
    return Copied(dest, rows)


def _check_backup_file(source: Path) -> sqlite3.Connection:
    if not source.is_file():
        raise BackupError(f"There is no backup file {source}.")
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise BackupError(f"{source} is not an SQLite database ({exc}).") from exc
    if not ok or not {"alembic_version", "users", "readings"} <= tables:
        conn.close()
        raise BackupError(f"{source} is not an intact backup of the energy monitor.")
    return conn


def restore_sqlite(source: Path, database: Path, *, force: bool = False) -> Copied:
    """Bring the backup ``source`` back as the SQLite ``database``. A database that holds users is
    overwritten only with ``force``; stop the API, the scheduler and the app first."""
    backup = _check_backup_file(source)
    try:
        if database.exists() and not force:
            current = sqlite3.connect(database, timeout=30)
            try:
                users = _rows(current).get("users", 0)
            finally:
                current.close()
            if users:
                raise ConflictError(
                    f"{database} holds {users} user(s); restoring replaces everything in it. "
                    "Stop the API, the scheduler and the app, then add --force."
                )
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database, timeout=30)
        try:
            # Through SQLite rather than a file copy: its own -wal and -shm files stay in step.
            backup.backup(target)
            rows = _rows(target)
        finally:
            target.close()
    finally:
        backup.close()
    return Copied(database, rows)


# --- PostgreSQL --------------------------------------------------------------------------------


def _major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if match is None:
        raise BackupError(f"Cannot read a version in {version_text!r}.")
    return int(match.group(1))


def pg_tool(engine: Engine, name: str) -> str:
    """The path of ``pg_dump``, ``pg_restore`` or ``psql``, checked to be at least as new as the
    server (an older one refuses to read a newer server's catalog)."""
    found = shutil.which(name)
    with engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000
    if found is None:
        raise BackupError(
            f"{name} is not installed. Install the PostgreSQL {server} client tools (Debian: "
            f"apt-get install postgresql-client-{server}; or run it in the postgres:{server} "
            "image) and run the command again."
        )
    client = _major(subprocess.run([found, "--version"], capture_output=True, text=True).stdout)
    if client < server:
        raise BackupError(
            f"{name} {client} cannot work with PostgreSQL {server}: install the "
            f"postgresql-client-{server} tools (a newer {name} works with older servers)."
        )
    return found


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database's URL for libpq without its password, and the environment that carries the
    password (so it never shows in the process list)."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _pg_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        enter_system_scope(conn)  # every household's rows, under row-level security too
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED_TABLES
        }


def backup_postgresql(engine: Engine, dest: Path, *, force: bool = False) -> Copied:
    """``pg_dump --format=custom`` of the database to ``dest``: one consistent snapshot, taken
    while everything runs."""
    _refuse_existing(dest, force)
    tool = pg_tool(engine, "pg_dump")
    url, env = _libpq(engine)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    # A role that row-level security holds dumps every household's rows in system scope; without
    # --enable-row-security pg_dump refuses such a role outright.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {SYSTEM_SCOPE_OPTION}".strip()
    done = subprocess.run(
        [
            tool,
            "--format=custom",
            "--no-owner",
            "--enable-row-security",
            "--file",
            str(partial),
            "--dbname",
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    os.replace(partial, dest)
    return Copied(dest, _pg_rows(engine))


def restore_postgresql(engine: Engine, source: Path, *, force: bool = False) -> Copied:
    """``pg_restore`` of a ``backup`` file into the database. One that holds users is replaced
    (``--clean``, through psql: ``_replace_postgresql``) only with ``force``; stop the API, the
    scheduler and the app first."""
    if not source.is_file():
        raise BackupError(f"There is no backup file {source}.")
    tool = pg_tool(engine, "pg_restore")
    with engine.connect() as conn:
        has_tables = conn.execute(text("SELECT to_regclass('users') IS NOT NULL")).scalar_one()
        users = conn.execute(text("SELECT count(*) FROM users")).scalar_one() if has_tables else 0
    if users and not force:
        raise ConflictError(
            f"The database holds {users} user(s); restoring replaces everything in it. Stop the "
            "API, the scheduler and the app, then add --force."
        )
    psql = pg_tool(engine, "psql") if has_tables else None
    url, env = _libpq(engine)
    engine.dispose()  # none of our connections may hold a lock pg_restore needs
    if psql is None:
        done = subprocess.run(
            [tool, "--no-owner", "--single-transaction", "--dbname", url, str(source)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    else:
        _replace_postgresql(tool, psql, url, env, source)
    return Copied(source, _pg_rows(engine))


# Dropped first when a restore replaces a database: ``pg_restore --clean`` would drop each
# partition's primary key on its own, which PostgreSQL refuses (the key belongs to the parent's).
# Dropping a partitioned table drops its partitions; the restore then creates them all again.
_DROP_PARTITIONED = """
DO $$
DECLARE partitioned regclass;
BEGIN
  FOR partitioned IN
    SELECT oid::regclass FROM pg_class
    WHERE relkind = 'p' AND NOT relispartition
      AND relnamespace = to_regnamespace(current_schema())
  LOOP
    EXECUTE format('DROP TABLE %s', partitioned);
  END LOOP;
END $$;
"""


def _replace_postgresql(
    pg_restore: str, psql: str, url: str, env: dict[str, str], source: Path
) -> None:
    """Replace the database's contents with the backup ``source`` in one transaction: psql runs
    the partitioned tables' drop and then ``pg_restore --clean``'s script, streamed. If pg_restore
    fails before the end of its script, psql is stopped before it could commit: the server rolls
    everything back and the database stays as it was."""
    env = {**env, "PGOPTIONS": "-c client_min_messages=warning"}
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        script = subprocess.Popen(
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--file=-", str(source)],
            stdout=subprocess.PIPE,
            stderr=restore_err,
        )
        runner = subprocess.Popen(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--dbname",
                url,
                "--command",
                _DROP_PARTITIONED,
                "--file=-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        source_pipe, sink = cast(IO[bytes], script.stdout), cast(IO[bytes], runner.stdin)
        stopped = False  # psql ended early, at an error of its own
        try:
            while chunk := source_pipe.read(1 << 20):
                sink.write(chunk)
            sink.flush()
        except BrokenPipeError:
            stopped = True
        source_pipe.close()
        if script.wait() != 0 and not stopped:
            runner.kill()  # before it reads the end of its input and commits half a database
            runner.wait()
            restore_err.seek(0)
            raise BackupError(f"pg_restore failed: {restore_err.read().decode().strip()}")
        if not stopped:
            sink.close()
        if runner.wait() != 0:
            psql_err.seek(0)
            raise BackupError(f"restore failed: {psql_err.read().decode().strip()}")


# --- scheduled backups -------------------------------------------------------------------------

BACKUP_PREFIX = "energy-"


def backup_with_rotation(
    engine: Engine, database_url: str, directory: Path, *, keep: int, now: datetime
) -> Copied:
    """A backup named by its UTC time in ``directory``, then only the newest ``keep`` of the
    backups there are kept (``ENERGY_BACKUP_DIR``, ``ENERGY_BACKUP_KEEP``)."""
    database = sqlite_file(database_url)
    suffix = ".db" if database is not None else ".dump"
    dest = directory / f"{BACKUP_PREFIX}{now:%Y%m%dT%H%M%SZ}{suffix}"
    if database is not None:
        copied = backup_sqlite(database, dest)
    else:
        copied = backup_postgresql(engine, dest)
    # The names sort by time; only files this rotation made are ever deleted.
    ours = sorted(directory.glob(f"{BACKUP_PREFIX}[0-9]*T[0-9]*Z{suffix}"))
    for old in ours[: max(0, len(ours) - keep)]:
        old.unlink()
    return copied

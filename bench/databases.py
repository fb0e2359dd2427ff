"""The PostgreSQL database a benchmark keeps its data in between runs."""

from __future__ import annotations

import argparse
import logging
import os

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

# Long enough for HS256: the app's sign-in cookie is signed with it while pages are timed.
COOKIE_KEY = "bench-cookie-key-that-is-long-enough-for-hs256"


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a benchmark that keeps its data in a database (described by the first
    paragraph of ``doc``): where the database is, and whether to load it again."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("ENERGY_BENCH_DATABASE_URL"))
    parser.add_argument("--reload", action="store_true", help="drop the data and load it again")
    return parser


def open_bench_database(url: str, *, reload: bool) -> Engine:
    """Point the code under bench at the database of ``url`` (made if missing, emptied with
    ``reload``) and return its migrated engine; logs go to standard error with their time."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ["ENERGY_DATABASE_URL"] = url
    os.environ["ENERGY_COOKIE_KEY"] = COOKIE_KEY
    from energy_core.db import get_engine
    from energy_core.migrate import upgrade_database

    ensure_database(url, reload=reload)
    engine = get_engine()
    upgrade_database(engine)
    return engine


def ensure_database(url: str, *, reload: bool = False) -> None:
    """Create the database of ``url`` unless it exists; with ``reload``, drop it first so that
    the benchmark loads its data again."""
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        if reload:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()

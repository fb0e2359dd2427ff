"""The SQL that differs between PostgreSQL and SQLite, one module per purpose (ingest, rollup,
reads, maintenance, locks), each keeping both backends' variants side by side. This module holds
what every purpose shares."""

from __future__ import annotations

from sqlalchemy import Connection

HOUR_US = 3_600_000_000

# The origin PostgreSQL's date_bin counts whole hours from.
PG_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


# An instant in epoch microseconds as PostgreSQL timestamptz, exactly (no float seconds); for
# statements run through the driver, whose placeholders make the modulo ``%%``.
PG_INSTANT = "(to_timestamp({0} / 1000000) + ({0} %% 1000000) * interval '1 microsecond')"

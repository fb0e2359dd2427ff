"""readings range-partitioned by UTC month on PostgreSQL, with a default partition

Retention then drops whole months instead of deleting millions of rows, and vacuum and index
upkeep work on one month at a time instead of the whole history. The primary key already holds
``ts``, the partition key, as PostgreSQL requires, so it stays (user_id, device_pk, ts) and
``ON CONFLICT`` on it keeps working. A DEFAULT partition takes readings of months that have no
partition yet (see ``energy_core.sql.partitions``).

An existing table is converted in place: renamed aside; a partitioned table made under its name,
with a partition for every month its rows fall in and for the current month and the two after
it; the rows copied with one INSERT ... SELECT, each routed to its month; the primary key built
once the rows are in; the other indexes, grants, row-level security and its policies carried
over; the old table dropped. All in the migration's transaction: a failure leaves the table as it
was. The downgrade copies the rows back into one table the same way.

SQLite keeps one table: nothing changes there.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

from energy_core.partitions import wanted_months
from energy_core.sql.partitions import (
    MonthPartition,
    create_default_partition,
    month_start,
)
from energy_core.types import utcnow

revision: str = "0080_readings_by_month"
down_revision: str | None = "0060_alerts"

COLUMNS = "user_id, device_pk, ts, power_w"
SHAPE = (
    "user_id integer NOT NULL, device_pk integer NOT NULL, "
    "ts timestamp with time zone NOT NULL, power_w double precision NOT NULL"
)
ASIDE = "readings_before_0080"


@dataclass
class Extras:
    """What a table carries besides its columns and primary key, as statements for another."""

    indexes: list[str]
    security: list[str]


def _rows(sql: str, **params) -> list:
    return list(op.get_bind().execute(sa.text(sql), params))


def _extras(table: str) -> Extras:
    """Drop ``table``'s secondary indexes (their names are needed again) and return the statements
    that re-create them, its grants, row-level security and policies on ``readings``."""
    indexes = []
    for name, definition in _rows(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = :t "
        "AND i.schemaname = current_schema() AND i.indexname NOT IN ("
        "  SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))",
        t=table,
    ):
        op.execute(f'DROP INDEX "{name}"')
        head, _, tail = definition.partition(" ON ")
        _table, _, how = tail.removeprefix("ONLY ").partition(" ")
        indexes.append(f"{head} ON readings {how}")
    security = []
    for grantee, privilege in _rows(
        "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type "
        "FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = CAST(:t AS regclass) AND a.grantee <> c.relowner",
        t=table,
    ):
        who = "PUBLIC" if grantee == "PUBLIC" else f'"{grantee}"'
        security.append(f"GRANT {privilege} ON readings TO {who}")
    rls, forced = _rows(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)",
        t=table,
    )[0]
    if rls:
        security.append("ALTER TABLE readings ENABLE ROW LEVEL SECURITY")
    if forced:
        security.append("ALTER TABLE readings FORCE ROW LEVEL SECURITY")
    for name, permissive, roles, command, qual, check in _rows(
        "SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies "
        "WHERE schemaname = current_schema() AND tablename = :t",
        t=table,
    ):
        to = ", ".join("PUBLIC" if r == "public" else f'"{r}"' for r in roles)
        statement = f'CREATE POLICY "{name}" ON readings AS {permissive} FOR {command} TO {to}'
        if qual is not None:
            statement += f" USING ({qual})"
        if check is not None:
            statement += f" WITH CHECK ({check})"
        security.append(statement)
    return Extras(indexes=indexes, security=security)


def _set_aside() -> Extras:
    extras = _extras("readings")
    op.execute(f"ALTER TABLE readings RENAME TO {ASIDE}")
    op.execute(f"ALTER INDEX readings_pkey RENAME TO {ASIDE}_pkey")
    return extras


def _finish(extras: Extras) -> None:
    op.execute(
        "ALTER TABLE readings ADD CONSTRAINT readings_pkey PRIMARY KEY (user_id, device_pk, ts)"
    )
    for statement in extras.indexes + extras.security:
        op.execute(statement)
    op.execute(f"DROP TABLE {ASIDE}")
    op.execute("ANALYZE readings")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    extras = _set_aside()
    op.execute(f"CREATE TABLE readings ({SHAPE}) PARTITION BY RANGE (ts)")
    months = set(wanted_months(utcnow()))
    months |= {
        month_start(m)
        for (m,) in _rows(f"SELECT DISTINCT date_trunc('month', ts, 'UTC') FROM {ASIDE}")
    }
    conn = op.get_bind()
    create_default_partition(conn)
    for start in sorted(months):
        partition = MonthPartition(start)
        op.execute(
            f"CREATE TABLE {partition.name} PARTITION OF readings FOR VALUES "
            + partition.bounds_sql()
        )
    op.execute(f"INSERT INTO readings ({COLUMNS}) SELECT {COLUMNS} FROM {ASIDE}")
    _finish(extras)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    extras = _set_aside()
    op.execute(f"CREATE TABLE readings ({SHAPE})")
    op.execute(f"INSERT INTO readings ({COLUMNS}) SELECT {COLUMNS} FROM {ASIDE}")
    _finish(extras)

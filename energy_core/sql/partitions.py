"""PostgreSQL's monthly partitions of ``readings``: naming, listing, creating one (with the rows the
default partition holds for its month), and detaching and dropping one. SQLite keeps one table.

``readings`` is range-partitioned on ``ts`` by UTC month (migration 0080), with a DEFAULT
partition that takes any reading whose month has no partition yet: ingest and history import never
fail and never run DDL, whatever the date. The scheduler's upkeep creates the months ahead and
moves rows out of the default partition into a month of their own (``energy_core.partitions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from energy_core.sql import PG_ORIGIN

PARENT = "readings"
DEFAULT_PARTITION = "readings_default"
_MONTHLY = re.compile(r"^readings_p(\d{4})_(\d{2})$")
# DDL waits at most this long for the locks it needs: a partition that cannot be created or
# dropped now is left to the next run rather than queueing every reader behind it.
LOCK_TIMEOUT = "5s"


def month_start(at: datetime) -> datetime:
    """The first instant of ``at``'s UTC month."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MonthPartition:
    """The partition of readings with ``start <= ts < end`` (one UTC month)."""

    start: datetime

    @property
    def end(self) -> datetime:
        return add_months(self.start, 1)

    @property
    def name(self) -> str:
        return f"readings_p{self.start:%Y_%m}"

    def bounds_sql(self) -> str:
        return f"FROM ('{self.start.isoformat()}') TO ('{self.end.isoformat()}')"


def readings_partitioned(conn: Connection) -> bool:
    """Whether ``readings`` is a partitioned table (PostgreSQL after migration 0080)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql(
        "SELECT relkind FROM pg_class WHERE oid = to_regclass(%(name)s)", {"name": PARENT}
    ).scalar()
    return kind == "p"


def month_partitions(conn: Connection) -> list[MonthPartition]:
    """The monthly partitions attached to ``readings``, oldest first (the default one aside)."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%(name)s)",
        {"name": PARENT},
    ).scalars()
    found = []
    for name in names:
        match = _MONTHLY.match(name)
        if match:
            found.append(MonthPartition(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda p: p.start)


def months_in_default(conn: Connection) -> list[datetime]:
    """The UTC months the default partition holds readings of."""
    rows = conn.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', ts, 'UTC') FROM {DEFAULT_PARTITION}"
    ).scalars()
    return sorted(month_start(m) for m in rows)


def create_default_partition(conn: Connection) -> None:
    conn.exec_driver_sql(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT")


def create_month_partition(conn: Connection, partition: MonthPartition) -> int:
    """Attach ``partition`` to ``readings``, moving into it the rows of its month that the default
    partition holds; returns how many were moved. In the caller's transaction.

    Built beside the parent and then attached: attaching takes a lock that lets readers and
    writers of the other partitions go on, where ``CREATE TABLE ... PARTITION OF`` would stop them
    all. The default partition is locked first so that no reading of the month arrives there
    between the move and the attach. The CHECK constraint spares the attach a scan of the rows
    just moved.
    """
    name, lo, hi = partition.name, partition.start.isoformat(), partition.end.isoformat()
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    conn.exec_driver_sql(f"LOCK TABLE {DEFAULT_PARTITION} IN SHARE ROW EXCLUSIVE MODE")
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    in_month = f"ts >= '{lo}' AND ts < '{hi}'"
    conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_month CHECK ({in_month})")
    moved = conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {in_month} RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved"
    ).rowcount
    conn.exec_driver_sql(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (user_id, device_pk, ts)"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES " + (partition.bounds_sql())
    )
    conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {name}_month")
    return moved


def dirty_hours_reached(conn: Connection, partition: MonthPartition, *, default_gap_s: int) -> bool:
    """Whether an hour that readings of ``partition`` count towards is dirty: any hour of the
    month, or of the longest max gap after its end."""
    return conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM dirty_hours WHERE hour_start >= %(lo)s AND hour_start < "
        "%(hi)s + make_interval(secs => (SELECT greatest(%(gap)s, max(max_gap_s)) FROM devices)))",
        {"lo": partition.start, "hi": partition.end, "gap": default_gap_s},
    ).scalar()


# Per device the partition holds readings of (found by skipping through its primary key, one
# descent per device), its first and last hour from the same index. If the device's aggregates
# fill every hour between the two, every hour it has readings of is aggregated: a count over
# the aggregates' primary key, about one entry per twelve readings, and no reading is read.
# Only a device with hours missing in that span (offline for longer than its max gap) has those
# hours looked up, each by one probe for a reading in it.
_UNAGGREGATED_HOUR = """
WITH RECURSIVE held AS (
    (SELECT user_id, device_pk, ts FROM {p} ORDER BY user_id, device_pk, ts LIMIT 1)
    UNION ALL
    SELECT nxt.user_id, nxt.device_pk, nxt.ts
    FROM held h CROSS JOIN LATERAL (
        SELECT r.user_id, r.device_pk, r.ts FROM {p} r
        WHERE (r.user_id, r.device_pk) > (h.user_id, h.device_pk)
        ORDER BY r.user_id, r.device_pk, r.ts LIMIT 1
    ) nxt
),
span AS (
    SELECT h.user_id, h.device_pk, date_bin('1 hour', h.ts, {origin}) AS first_hour,
           date_bin('1 hour', (SELECT max(r.ts) FROM {p} r
                               WHERE r.user_id = h.user_id AND r.device_pk = h.device_pk),
                    {origin}) AS last_hour
    FROM held h
),
gapped AS (
    SELECT s.* FROM span s
    WHERE (SELECT count(*) FROM hourly_aggregates a
           WHERE a.user_id = s.user_id AND a.device_pk = s.device_pk
             AND a.hour_start >= s.first_hour AND a.hour_start <= s.last_hour
             -- only whole hours count towards the span (the rollup writes no other)
             AND a.hour_start = date_bin('1 hour', a.hour_start, {origin}))
        < extract(epoch FROM s.last_hour - s.first_hour) / 3600 + 1
)
SELECT EXISTS (
    SELECT 1 FROM gapped s
    CROSS JOIN LATERAL
        generate_series(s.first_hour, s.last_hour, interval '1 hour') AS g(hour_start)
    WHERE NOT EXISTS (
        SELECT 1 FROM hourly_aggregates a WHERE a.user_id = s.user_id
        AND a.device_pk = s.device_pk AND a.hour_start = g.hour_start)
      AND EXISTS (
        SELECT 1 FROM {p} r WHERE r.user_id = s.user_id AND r.device_pk = s.device_pk
        AND r.ts >= g.hour_start AND r.ts < g.hour_start + interval '1 hour')
)
"""


def partition_may_go(conn: Connection, partition: MonthPartition, *, default_gap_s: int) -> bool:
    """Whether every raw reading of ``partition`` may be deleted under retention's rule: each hour
    it holds readings of has a stored aggregate, and no hour those readings count towards (up to
    the longest max gap after the month's end) is dirty. Exact, yet it reads no reading beyond
    the first and last of each device (see ``_UNAGGREGATED_HOUR``)."""
    if dirty_hours_reached(conn, partition, default_gap_s=default_gap_s):
        return False
    unaggregated = conn.exec_driver_sql(
        _UNAGGREGATED_HOUR.format(p=partition.name, origin=PG_ORIGIN)
    ).scalar()
    return not unaggregated


def drop_month_partition(
    conn: Connection, partition: MonthPartition, *, lock_timeout: str = LOCK_TIMEOUT
) -> None:
    """Detach ``partition`` and drop it, in the caller's transaction.

    Not ``DETACH ... CONCURRENTLY``: PostgreSQL refuses it on a table with a default partition
    (and inside a transaction block), and readings keeps one. The plain detach needs an ACCESS
    EXCLUSIVE lock on readings; ``lock_timeout`` bounds how long it queues for it, and so how long
    ingest, which queues behind it, can wait. Once granted, the detach and the drop are catalog
    changes held until the caller commits."""
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{lock_timeout}'")
    conn.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {partition.name}")
    conn.exec_driver_sql(f"DROP TABLE {partition.name}")

"""Upkeep of the monthly partitions of readings on PostgreSQL: months created ahead of the
readings that will fill them, readings that landed in the default partition moved into a month of
their own, and whole months dropped by retention. Nothing to do on SQLite (one table).

A reading whose month has no partition is stored in the default partition, so a late reading, a
clock far in the future or a history import from 2019 is accepted like any other; the next upkeep
gives its month a partition. Readings are correct to read wherever they sit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from energy_core.household_scope import enter_system_scope
from energy_core.sql.locks import job_lock
from energy_core.sql.partitions import (
    LOCK_TIMEOUT,
    MonthPartition,
    add_months,
    create_month_partition,
    dirty_hours_reached,
    drop_month_partition,
    month_partitions,
    month_start,
    months_in_default,
    partition_may_go,
    readings_partitioned,
)
from energy_core.types import utcnow

log = logging.getLogger(__name__)

PARTITIONS_JOB = "partitions"
# Partitions kept ready beyond the current month: a reading at the turn of the month never waits
# for the upkeep, and a scheduler that was down for weeks still finds its month there.
MONTHS_AHEAD = 2


@dataclass
class Upkeep:
    skipped: bool = False
    created: list[str] = field(default_factory=list)
    moved: int = 0


def wanted_months(now: datetime, *, months_ahead: int = MONTHS_AHEAD) -> list[datetime]:
    """The current UTC month of ``now`` and the ``months_ahead`` after it."""
    first = month_start(now)
    return [add_months(first, k) for k in range(months_ahead + 1)]


def keep_partitions(
    engine: Engine, *, now: datetime | None = None, months_ahead: int = MONTHS_AHEAD
) -> Upkeep:
    """Create the partitions of the current month and the ``months_ahead`` after it, and one for
    every month the default partition holds readings of (moving them in). Idempotent; one
    scheduler at a time; each partition in a transaction of its own, so a lock that cannot be had
    now leaves that month for the next run."""
    if engine.dialect.name != "postgresql":
        return Upkeep()
    with engine.connect() as conn:
        if not readings_partitioned(conn):
            return Upkeep()
    run = Upkeep()
    with job_lock(engine, PARTITIONS_JOB) as got_lock:
        if not got_lock:
            log.info("partition upkeep skipped: another scheduler holds the lock")
            return Upkeep(skipped=True)
        with engine.connect() as conn:
            enter_system_scope(conn)  # every household's readings (row-level security)
            have = {p.start for p in month_partitions(conn)}
            months = set(wanted_months(now or utcnow(), months_ahead=months_ahead))
            months |= set(months_in_default(conn))
            conn.rollback()
        for start in sorted(months - have):
            partition = MonthPartition(start)
            try:
                with engine.begin() as conn:
                    enter_system_scope(conn)
                    run.moved += create_month_partition(conn, partition)
            except OperationalError as exc:
                log.warning(
                    "partition %s not created now, next run retries: %s", partition.name, exc
                )
                continue
            run.created.append(partition.name)
    if run.created:
        log.info(
            "partitions created: %s (%d readings moved out of the default partition)",
            ", ".join(run.created),
            run.moved,
        )
    return run


@dataclass
class Expiry:
    dropped: list[str] = field(default_factory=list)
    # The start of the first month whose partition could not be detached now (its lock was not
    # to be had in time): nothing from there on is pruned row by row in this run, so that the
    # next run drops the month whole instead of deleting it reading by reading.
    deferred: datetime | None = None


def drop_expired_partitions(
    engine: Engine, *, horizon: datetime, default_gap_s: int, lock_timeout: str = LOCK_TIMEOUT
) -> Expiry:
    """Detach and drop every monthly partition that ends by ``horizon`` and whose readings may all
    go (``sql.partitions.partition_may_go``), oldest first. The caller holds the retention lock.
    A month that may not go yet keeps its rows for the row-by-row pruning; one whose detach waits
    longer than ``lock_timeout`` for its lock stops the drops for this run (``Expiry.deferred``).
    """
    run = Expiry()
    if engine.dialect.name != "postgresql":
        return run
    with engine.connect() as conn:
        if not readings_partitioned(conn):
            return run
        expired = [p for p in month_partitions(conn) if p.end <= horizon]
        conn.rollback()
    for partition in expired:
        with engine.connect() as conn:
            try:
                # The marks and aggregates of every household (row-level security).
                enter_system_scope(conn)
                conn.exec_driver_sql("SET LOCAL jit = off")  # short statements, see prunable_hours
                if not partition_may_go(conn, partition, default_gap_s=default_gap_s):
                    conn.rollback()
                    continue
                drop_month_partition(conn, partition, lock_timeout=lock_timeout)
                # The check ran without locking writers out. Now that the detach holds readings,
                # no write into the month is under way, and a reading stored since the check
                # marked its hour dirty in its own transaction: the marks alone tell.
                if dirty_hours_reached(conn, partition, default_gap_s=default_gap_s):
                    conn.rollback()
                    continue
                conn.commit()
            except OperationalError as exc:
                log.warning(
                    "partition %s not dropped now, next run retries: %s", partition.name, exc
                )
                run.deferred = partition.start
                break
        run.dropped.append(partition.name)
    if run.dropped:
        log.info("retention: partitions of whole months dropped: %s", ", ".join(run.dropped))
    return run

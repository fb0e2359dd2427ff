"""Retention: raw readings older than ``retention_days`` are deleted once their hours are safely
aggregated; the hourly aggregates themselves are kept forever.

On PostgreSQL, whole months before the horizon go by dropping their partition (no row is
deleted, no space left for vacuum); what remains before the horizon, the part of the month it
falls in and any month that may not go whole yet, is deleted row by row in bounded batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from energy_core.db import session_scope
from energy_core.jobs import BatchedRun, last_run, recorded_run
from energy_core.models import JobRun
from energy_core.partitions import drop_expired_partitions
from energy_core.settings import Settings, get_settings
from energy_core.sql.maintenance import delete_readings_of_hours, prunable_hours
from energy_core.sql.partitions import LOCK_TIMEOUT
from energy_core.types import floor_hour, utcnow

log = logging.getLogger(__name__)

RETENTION_JOB = "retention"
# (device, hour) pairs whose readings one transaction deletes: about 100 k readings at 30 s.
DEFAULT_BATCH_HOURS = 1_000


@dataclass
class PruneBatch:
    hours: int = 0
    readings: int = 0


@dataclass
class PruneRun(BatchedRun):
    readings: int = 0
    horizon: datetime | None = None
    partitions: list[str] = field(default_factory=list)


def retention_horizon(now: datetime, *, settings: Settings) -> datetime | None:
    """Raw readings before this instant (an hour boundary) may be pruned; None keeps them forever.

    Never inside the lateness window: a late reading for an hour whose readings are gone would
    have that hour recomputed from the one new reading.
    """
    if settings.retention_days == 0:
        return None
    keep = timedelta(days=max(settings.retention_days, settings.lateness_days))
    return floor_hour(now - keep)


def prune_batch(
    session: Session,
    *,
    horizon: datetime,
    limit: int = DEFAULT_BATCH_HOURS,
    settings: Settings | None = None,
) -> PruneBatch:
    """Delete the raw readings of up to ``limit`` hours before ``horizon`` whose aggregates are
    current (stored, and neither the hour nor an hour its readings carry into is dirty), oldest
    first, in the caller's transaction. The caller holds the retention lock."""
    settings = settings or get_settings()
    conn = session.connection()
    hours = prunable_hours(conn, horizon=horizon, default_gap_s=settings.max_gap_s, limit=limit)
    return PruneBatch(hours=len(hours), readings=delete_readings_of_hours(conn, hours))


def prune_readings(
    engine: Engine,
    *,
    now: datetime | None = None,
    batch_hours: int = DEFAULT_BATCH_HOURS,
    max_batches: int | None = None,
    settings: Settings | None = None,
    lock_timeout: str = LOCK_TIMEOUT,
) -> PruneRun:
    """Apply the retention setting: delete prunable raw readings in batches of ``batch_hours``
    (device, hour) pairs, each its own transaction, until none are left. One scheduler prunes at a
    time; a second one skips. Recorded in ``job_runs`` like the rollup. Whole months go first
    (PostgreSQL), each detach waiting at most ``lock_timeout`` for its lock on readings."""
    settings = settings or get_settings()
    horizon = retention_horizon(now or utcnow(), settings=settings)
    if horizon is None:
        log.debug("retention: readings are kept forever (retention_days = 0)")
        return PruneRun()
    with recorded_run(engine, RETENTION_JOB, PruneRun(horizon=horizon)) as run:
        if run.skipped:
            log.info("retention skipped: another scheduler holds the lock")
            return run
        expiry = drop_expired_partitions(
            engine, horizon=horizon, default_gap_s=settings.max_gap_s, lock_timeout=lock_timeout
        )
        run.partitions = expiry.dropped
        # A month left attached for want of its lock is not deleted row by row meanwhile.
        rows_before = min(horizon, expiry.deferred or horizon)
        while max_batches is None or run.batches < max_batches:
            # Pruning is by hour across households (row-level security: system scope).
            with session_scope(engine, system=True) as session:
                batch = prune_batch(
                    session, horizon=rows_before, limit=batch_hours, settings=settings
                )
            if batch.hours == 0:
                break
            run.batches += 1
            run.hours += batch.hours
            run.readings += batch.readings
            if run.batches % 10 == 0:
                log.info(
                    "retention: %d readings of %d hours deleted so far", run.readings, run.hours
                )
    log.log(
        logging.INFO if run.readings else logging.DEBUG,
        "retention: %d readings of %d hours before %s deleted in %d batches, %.3f s",
        run.readings,
        run.hours,
        horizon.isoformat(),
        run.batches,
        run.duration_s,
    )
    return run


def last_prune(session: Session) -> JobRun | None:
    return last_run(session, RETENTION_JOB)

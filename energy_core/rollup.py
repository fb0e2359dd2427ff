"""Hourly aggregates: recompute the hours made dirty by new readings, in SQL, idempotently."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session, col, func, select

from energy_core import dialect
from energy_core.db import session_scope
from energy_core.models import DirtyHour, JobRun
from energy_core.settings import Settings, get_settings
from energy_core.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

ROLLUP_JOB = "rollup"


@dataclass
class RollupBatch:
    locked: bool
    hours: int = 0


@dataclass
class RollupRun:
    skipped: bool = False
    hours: int = 0
    batches: int = 0
    duration_s: float = 0.0
    remaining: int = 0


def dirty_backlog(session: Session) -> int:
    return session.exec(select(func.count()).select_from(DirtyHour)).one()


def rollup_batch(session: Session, *, limit: int, settings: Settings | None = None) -> RollupBatch:
    """Recompute up to about ``limit`` dirty (device, hour) pairs, oldest first, in the caller's
    transaction, and clear exactly the marks it read. Returns ``locked=False`` when another
    scheduler holds the lock (nothing done)."""
    settings = settings or get_settings()
    conn = session.connection()
    if not dialect.try_rollup_lock(conn):
        return RollupBatch(locked=False)
    marks = session.exec(
        select(DirtyHour.user_id, DirtyHour.device_pk, DirtyHour.hour_start, DirtyHour.version)
        .order_by(col(DirtyHour.hour_start), col(DirtyHour.device_pk))
        .limit(limit)
    ).all()
    if not marks:
        return RollupBatch(locked=True)
    cutoff = marks[-1][2]
    # Everything up to the cutoff hour is computed, so take all marks of that hour (ties included).
    marks = session.exec(
        select(
            DirtyHour.user_id, DirtyHour.device_pk, DirtyHour.hour_start, DirtyHour.version
        ).where(DirtyHour.hour_start <= cutoff)
    ).all()
    statement = text(dialect.rollup_sql(conn)).bindparams(
        bindparam("cutoff", type_=UTCDateTime()),
        bindparam("computed_at", type_=UTCDateTime()),
    )
    session.execute(
        statement,
        {"cutoff": cutoff, "computed_at": utcnow(), "default_gap_s": settings.max_gap_s},
    )
    dialect.clear_dirty_hours(conn, [tuple(m) for m in marks])
    return RollupBatch(locked=True, hours=len(marks))


def rollup_dirty_hours(
    engine: Engine,
    *,
    settings: Settings | None = None,
    max_batches: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RollupRun:
    """Work through the dirty hours in bounded transactions until none are left.

    Each batch commits on its own, so a crash loses at most the batch in flight (which stays dirty
    and is redone). Runs are recorded in ``job_runs`` for status pages.
    """
    settings = settings or get_settings()
    started = time.perf_counter()
    started_at = utcnow()
    run = RollupRun()
    with dialect.scheduler_file_lock(str(engine.url)) as got_lock:
        if not got_lock:
            log.info("rollup skipped: another scheduler holds the lock")
            return RollupRun(skipped=True)
        with session_scope(engine, read_only=True) as session:
            total = dirty_backlog(session)
        while max_batches is None or run.batches < max_batches:
            with session_scope(engine) as session:
                batch = rollup_batch(session, limit=settings.rollup_batch_hours, settings=settings)
            if not batch.locked:
                log.info("rollup skipped: another scheduler holds the lock")
                run.skipped = True
                break
            if batch.hours == 0:
                break
            run.batches += 1
            run.hours += batch.hours
            if progress is not None:
                progress(run.hours, max(total, run.hours))
            if total > settings.rollup_batch_hours:
                log.info("rollup catch-up: %d of about %d dirty hours done", run.hours, total)
        with session_scope(engine) as session:
            run.remaining = dirty_backlog(session)
            run.duration_s = time.perf_counter() - started
            if not run.skipped:
                _record_run(session, started_at=started_at, run=run)
    if not run.skipped:
        log.log(
            logging.INFO if run.hours else logging.DEBUG,
            "rollup: %d hours recomputed in %d batches, %.3f s, %d still dirty",
            run.hours,
            run.batches,
            run.duration_s,
            run.remaining,
        )
    return run


def _record_run(session: Session, *, started_at: datetime, run: RollupRun) -> None:
    row = session.get(JobRun, ROLLUP_JOB) or JobRun(job=ROLLUP_JOB, started_at=started_at)
    row.started_at = started_at
    row.finished_at = utcnow()
    row.hours_computed = run.hours
    row.duration_s = run.duration_s
    row.error = None
    session.add(row)


def last_rollup(session: Session) -> JobRun | None:
    return session.get(JobRun, ROLLUP_JOB)

"""What the batched scheduler jobs (rollup, retention) share: one run at a time under the job's
lock, the counts of the run and its record in ``job_runs``, read by the status page and the
metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from energy_core.db import session_scope
from energy_core.models import JobRun
from energy_core.sql.locks import job_lock
from energy_core.types import utcnow


@dataclass
class BatchedRun:
    """One run of a job that works in batches, each its own transaction."""

    skipped: bool = False
    hours: int = 0
    batches: int = 0
    duration_s: float = 0.0


def record_run(session: Session, job: str, *, started_at: datetime, run: BatchedRun) -> None:
    """Keep ``run`` as the last run of ``job``, finished now."""
    row = session.get(JobRun, job) or JobRun(job=job, started_at=started_at)
    row.started_at = started_at
    row.finished_at = utcnow()
    row.hours_computed = run.hours
    row.duration_s = run.duration_s
    row.error = None
    session.add(row)


RunT = TypeVar("RunT", bound=BatchedRun)


@contextmanager
def recorded_run(
    engine: Engine,
    job: str,
    run: RunT,
    *,
    before_record: Callable[[Session, RunT], None] | None = None,
) -> Iterator[RunT]:
    """``run`` of ``job`` under the job's lock: marked skipped when another scheduler holds it.
    A run whose block ends without an error gets its duration and its row in ``job_runs``, in a
    transaction where ``before_record`` may first add to it."""
    started = time.perf_counter()
    started_at = utcnow()
    with job_lock(engine, job) as got_lock:
        if not got_lock:
            run.skipped = True
            yield run
            return
        yield run
        with session_scope(engine, system=True) as session:
            if before_record is not None:
                before_record(session, run)
            run.duration_s = time.perf_counter() - started
            record_run(session, job, started_at=started_at, run=run)


def last_run(session: Session, job: str) -> JobRun | None:
    return session.get(JobRun, job)

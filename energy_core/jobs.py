"""What the batched scheduler jobs (rollup, retention) share: the counts of one run and its
record in ``job_runs``, read by the status page and the metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from energy_core.models import JobRun
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


def last_run(session: Session, job: str) -> JobRun | None:
    return session.get(JobRun, job)

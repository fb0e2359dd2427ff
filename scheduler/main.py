"""The scheduler process: the rollup job every minute, household alerts every 5 minutes (their
webhooks and e-mails every minute), the retention job and (PostgreSQL) the upkeep of the monthly
partitions of readings every hour, the integrity check every day and, with ``ENERGY_BACKUP_DIR``, a
backup with rotation, each a few lines around an ``energy_core`` function.

Retention runs hourly rather than daily: each run then deletes about one hour of readings per
device (a short transaction that never competes with the rollup for long), and a scheduler that
restarts is never more than an hour late with it.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from energy_core import clock
from energy_core.alerts import evaluate_alerts
from energy_core.alerts.email import deliver_email
from energy_core.alerts.webhook import deliver_pending
from energy_core.backup import backup_with_rotation
from energy_core.db import get_engine, session_scope
from energy_core.integrity import find_orphans, log_orphans
from energy_core.partitions import keep_partitions
from energy_core.retention import prune_readings
from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import Settings, get_settings
from energy_core.types import utcnow

log = logging.getLogger(__name__)

INTEGRITY_INTERVAL_S = 86_400
PARTITIONS_INTERVAL_S = 3_600


def _retried(what: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """A job that never stops the scheduler: when it fails, ``what`` failed is logged and the
    next run tries again."""

    def job_of(work: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(work)
        def job() -> None:
            try:
                work()
            except Exception:
                log.exception("%s failed; it will be retried on the next run", what)

        return job

    return job_of


# The dirty hours stay marked and the next run retries them.
@_retried("rollup run")
def rollup_job() -> None:
    rollup_dirty_hours(get_engine())


# Nothing is lost: a failed batch rolls back and the next run prunes it.
@_retried("retention run")
def retention_job() -> None:
    prune_readings(get_engine())


# Conditions are read afresh on every run: the next one sees what this one missed.
@_retried("alert evaluation")
def alerts_job() -> None:
    evaluate_alerts(get_engine(), now=clock.now())


# Undelivered alerts stay pending in the database and are sent by the next run.
@_retried("alert delivery")
def alert_delivery_job() -> None:
    deliver_pending(get_engine(), now=clock.now())


# Unsent e-mails stay pending in the database; a server that is down is tried again later.
@_retried("alert e-mail")
def alert_email_job() -> None:
    deliver_email(get_engine(), now=clock.now())


# Readings of a month without its partition go to the default one: nothing is refused.
@_retried("partition upkeep")
def partitions_job() -> None:
    keep_partitions(get_engine())


@_retried("integrity check")
def integrity_job() -> None:
    with session_scope(get_engine(), read_only=True, system=True) as session:
        log_orphans(find_orphans(session))


def backup_job() -> None:
    settings = get_settings()
    try:
        copied = backup_with_rotation(
            get_engine(),
            settings.database_url,
            Path(settings.backup_dir).expanduser(),
            keep=settings.backup_keep,
            now=utcnow(),
        )
        log.info("backed up the database to %s", copied.path)
    except Exception:
        # The previous backups are kept; the next run tries again.
        log.exception("scheduled backup failed; it will be retried on the next run")


def build_scheduler(
    settings: Settings | None = None, *, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    settings = settings or get_settings()
    scheduler = scheduler_class(
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            # Generous: a run that was late (machine asleep, long catch-up) still happens once.
            "misfire_grace_time": max(3600, settings.rollup_interval_s * 10),
        },
        timezone="UTC",
    )
    scheduler.add_job(
        rollup_job,
        "interval",
        seconds=settings.rollup_interval_s,
        id="rollup",
        name="hourly aggregates",
    )
    scheduler.add_job(
        retention_job,
        "interval",
        seconds=settings.retention_interval_s,
        id="retention",
        name="raw reading retention",
    )
    scheduler.add_job(
        alerts_job,
        "interval",
        seconds=settings.alert_interval_s,
        id="alerts",
        name="household alerts",
    )
    # Its own job, so that a slow webhook never holds up the evaluation of alerts.
    scheduler.add_job(
        alert_delivery_job,
        "interval",
        seconds=60,
        id="alert_delivery",
        name="alert webhooks",
    )
    # And e-mail apart from both: an SMTP server that hangs delays neither alerts nor webhooks.
    scheduler.add_job(
        alert_email_job,
        "interval",
        seconds=60,
        id="alert_email",
        name="alert e-mails",
    )
    scheduler.add_job(
        partitions_job,
        "interval",
        seconds=PARTITIONS_INTERVAL_S,
        id="partitions",
        name="monthly partitions of readings",
    )
    scheduler.add_job(
        integrity_job,
        "interval",
        seconds=INTEGRITY_INTERVAL_S,
        id="integrity",
        name="rows whose device is gone",
    )
    if settings.backup_dir:
        scheduler.add_job(
            backup_job,
            "interval",
            seconds=settings.backup_interval_s,
            id="backup",
            name="database backup with rotation",
        )
    return scheduler


def run(settings: Settings | None = None) -> None:
    """Catch up on everything dirty, then run the jobs on their intervals until SIGINT/SIGTERM."""
    settings = settings or get_settings()
    scheduler = build_scheduler(settings)

    def _stop(signum, _frame) -> None:  # noqa: ANN001
        log.info("scheduler stopping (signal %d)", signum)
        if not scheduler.running:
            raise SystemExit(0)  # still in the start-up catch-up: stop right here
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    retention = (
        f"retention of {settings.retention_days} days every {settings.retention_interval_s} s"
        if settings.retention_days
        else "raw readings kept forever"
    )
    log.info("scheduler started: rollup every %d s, %s", settings.rollup_interval_s, retention)
    partitions_job()  # months ahead exist before the first reading of one arrives
    rollup_job()  # catch-up on start: a scheduler that was down works off its backlog first
    alerts_job()  # and says what needs attention now, not a whole interval later
    scheduler.start()

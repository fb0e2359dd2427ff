"""The scheduler process around the rollup: configuration, catch-up and the one-worker lock."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlmodel import func, select

from energy_core import dialect
from energy_core.db import session_scope
from energy_core.models import HourlyAggregate
from energy_core.rollup import dirty_backlog, last_rollup, rollup_dirty_hours
from energy_core.types import utcnow
from scheduler.main import build_scheduler, rollup_job
from tests.factories import add_readings, make_device, make_user


def seed_hours(engine, hours: int = 5):
    start = (utcnow() - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(
            s,
            user=user,
            device=device,
            points=[(start + timedelta(minutes=5 * i), 100.0) for i in range(hours * 12)],
        )
    return user, device


def aggregate_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(HourlyAggregate)).one()


def test_scheduler_job_is_configured_to_never_pile_up(engine):
    scheduler = build_scheduler(scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("rollup")
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 3600
        assert job.trigger.interval == timedelta(seconds=60)
    finally:
        scheduler.shutdown(wait=False)


def test_job_catches_up_on_everything_dirty_and_records_the_run(engine):
    seed_hours(engine, hours=6)
    rollup_job()
    # Six hours of readings, plus the seventh that the last reading carries into.
    assert aggregate_count(engine) == 7
    with session_scope(engine, read_only=True) as s:
        assert dirty_backlog(s) == 0
        run = last_rollup(s)
    assert run.hours_computed >= 6 and run.finished_at is not None


def test_catch_up_in_small_batches_gives_the_same_rows(engine, monkeypatch):
    seed_hours(engine, hours=6)
    monkeypatch.setenv("ENERGY_ROLLUP_BATCH_HOURS", "2")
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    run = rollup_dirty_hours(engine)
    assert run.batches >= 3
    assert aggregate_count(engine) == 7


def test_second_scheduler_skips_while_the_first_holds_the_lock(engine):
    seed_hours(engine, hours=2)
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.begin()
            assert holder.execute(text("SELECT pg_try_advisory_xact_lock(7424001)")).scalar()
            run = rollup_dirty_hours(engine)
            holder.rollback()
    else:
        with dialect.scheduler_file_lock(str(engine.url)) as got:
            assert got
            run = rollup_dirty_hours(engine)
    assert run.skipped and run.hours == 0
    assert aggregate_count(engine) == 0
    # Once the first one is done, the next run does the work.
    assert rollup_dirty_hours(engine).hours >= 2
    assert aggregate_count(engine) == 3

"""The scheduler process around the rollup: configuration, catch-up and the one-worker lock."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import HourlyAggregate, Reading
from energy_core.rollup import dirty_backlog, last_rollup, rollup_dirty_hours
from energy_core.sql.locks import scheduler_file_lock
from energy_core.types import utcnow
from scheduler.main import retention_job, rollup_job
from tests.factories import add_readings, make_device, make_user, seed_device
from tests.scheduler.paused import paused_scheduler


def seed_hours(engine, hours: int = 5):
    start = (utcnow() - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return seed_device(
        engine, [(start + timedelta(minutes=5 * i), 100.0) for i in range(hours * 12)]
    )


def aggregate_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(HourlyAggregate)).one()


@pytest.mark.parametrize(
    ("name", "job_func", "interval"),
    [
        ("rollup", rollup_job, timedelta(seconds=60)),
        ("retention", retention_job, timedelta(hours=1)),
    ],
)
def test_rollup_and_retention_jobs_run_at_their_interval_and_never_pile_up(
    engine, name, job_func, interval
):
    with paused_scheduler() as scheduler:
        job = scheduler.get_job(name)
        assert job.func is job_func
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 3600
        assert job.trigger.interval == interval


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
        with scheduler_file_lock(str(engine.url)) as got:
            assert got
            run = rollup_dirty_hours(engine)
    assert run.skipped and run.hours == 0
    assert aggregate_count(engine) == 0
    # Once the first one is done, the next run does the work.
    assert rollup_dirty_hours(engine).hours >= 2
    assert aggregate_count(engine) == 3


def test_job_intervals_come_from_the_settings(engine, monkeypatch):
    monkeypatch.setenv("ENERGY_ROLLUP_INTERVAL_S", "15")
    monkeypatch.setenv("ENERGY_RETENTION_INTERVAL_S", "86400")
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    with paused_scheduler() as scheduler:
        assert scheduler.get_job("rollup").trigger.interval == timedelta(seconds=15)
        assert scheduler.get_job("retention").trigger.interval == timedelta(days=1)


def test_retention_job_prunes_only_aggregated_hours_and_logs_it(engine, monkeypatch, caplog):
    monkeypatch.setenv("ENERGY_RETENTION_DAYS", "1")
    monkeypatch.setenv("ENERGY_LATENESS_DAYS", "1")
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    start = (utcnow() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    user, device = seed_device(
        engine, [(start + timedelta(minutes=5 * i), 100.0) for i in range(24)]
    )
    caplog.set_level(logging.INFO, logger="energy_core")
    retention_job()  # nothing aggregated yet: nothing may go
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(Reading)).one() == 24
    rollup_job()
    retention_job()
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(Reading)).one() == 0
        assert aggregate_count(engine) == 3
    assert any("retention: 24 readings of 2 hours" in r.getMessage() for r in caplog.records)


def test_catch_up_reports_progress_in_the_log(engine, monkeypatch, caplog):
    seed_hours(engine, hours=6)
    monkeypatch.setenv("ENERGY_ROLLUP_BATCH_HOURS", "2")
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    caplog.set_level(logging.INFO, logger="energy_core.rollup")
    rollup_job()
    messages = [r.getMessage() for r in caplog.records]
    assert "rollup catch-up: 7 dirty hours to recompute" in messages
    assert "rollup catch-up: 4 of about 7 dirty hours done" in messages
    assert any(m.startswith("rollup: 7 hours recomputed in 4 batches") for m in messages)


CHILD = """
import json, logging, os, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
from energy_core.db import get_engine
from energy_core.rollup import rollup_dirty_hours
engine = get_engine()
with engine.connect() as conn:
    conn.exec_driver_sql("SELECT 1")  # connected and warm before the start signal
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):  # both children wait here for one start signal
    time.sleep(0.005)
run = rollup_dirty_hours(engine)
print(json.dumps({"skipped": run.skipped, "hours": run.hours}))
"""


@pytest.mark.e2e  # starts two real processes that run the scheduler's rollup
def test_two_scheduler_processes_started_together_one_works_one_skips(engine, tmp_path):
    # PostgreSQL: the advisory lock; SQLite: the file lock beside the database.
    from tests.core.test_rollup import T0, assert_matches_reference

    with session_scope(engine) as s:
        user = make_user(s)
        devices = [make_device(s, user=user) for _ in range(8)]
        points = [(T0 + timedelta(seconds=45 * i), float(i % 700)) for i in range(48 * 80)]
        for device in devices:
            add_readings(s, user=user, device=device, points=points)
    with session_scope(engine, read_only=True) as s:
        backlog = dirty_backlog(s)
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        # Many small batches: the first scheduler is still working when the second one starts.
        "ENERGY_ROLLUP_BATCH_HOURS": "8",
    }
    # A start signal given only once both children are warm: a fixed start time would let a child
    # that imports slowly (a busy machine) begin after the other has already finished.
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outcomes.append((json.loads(out.strip().splitlines()[-1]), err))
    results = sorted((o["skipped"], o["hours"]) for o, _ in outcomes)
    assert results == [(False, backlog), (True, 0)]
    skipper_log = next(err for o, err in outcomes if o["skipped"])
    assert "rollup skipped: another scheduler holds the lock" in skipper_log
    for device in devices:
        canonical = [((t - T0).total_seconds(), p) for t, p in points]
        assert_matches_reference(engine, device.id, canonical, 600)


def test_partitions_job_runs_hourly_and_keeps_this_month_and_the_next_two(engine):
    from energy_core.partitions import wanted_months
    from energy_core.sql.partitions import MonthPartition, month_partitions, readings_partitioned
    from scheduler.main import partitions_job

    with paused_scheduler() as scheduler:
        job = scheduler.get_job("partitions")
        assert job.func is partitions_job
        assert job.trigger.interval == timedelta(hours=1)
    with engine.begin() as conn:  # as if they had never been made
        for partition in map(MonthPartition, wanted_months(utcnow())):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {partition.name}")

    partitions_job()

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert not readings_partitioned(conn)
            kind = conn.exec_driver_sql("SELECT type FROM sqlite_master WHERE name = 'readings'")
            assert kind.scalar_one() == "table"
            return
        have = {p.start for p in month_partitions(conn)}
    assert set(wanted_months(utcnow())) <= have

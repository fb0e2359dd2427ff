"""Scheduled backups are one setting: with ENERGY_BACKUP_DIR the scheduler backs the database up
on an interval and keeps only the newest ENERGY_BACKUP_KEEP (SQLite copies, pg_dump files)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from energy_core.backup import backup_with_rotation, sqlite_file
from energy_core.db import session_scope
from energy_core.settings import get_settings
from scheduler.main import backup_job, build_scheduler
from tests.factories import make_user


def test_no_backup_job_unless_a_folder_is_set(engine, tmp_path, monkeypatch):
    scheduler = build_scheduler(scheduler_class=BackgroundScheduler)
    assert scheduler.get_job("backup") is None
    monkeypatch.setenv("ENERGY_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("ENERGY_BACKUP_INTERVAL_S", "3600")
    get_settings.cache_clear()
    job = build_scheduler(scheduler_class=BackgroundScheduler).get_job("backup")
    assert job.trigger.interval == timedelta(hours=1)


def test_rotation_keeps_the_newest_backups_and_nothing_else_is_touched(engine, tmp_path):
    tmp_path = tmp_path / "backups"  # the SQLite database under test lives beside it
    tmp_path.mkdir()
    with session_scope(engine) as s:
        make_user(s, email="kept@example.com")
    notes = tmp_path / "energy-notes.txt"
    notes.write_text("mine")
    url = get_settings().database_url
    start = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    made = [
        backup_with_rotation(engine, url, tmp_path, keep=2, now=start + timedelta(days=d)).path
        for d in range(4)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [made[2].name, made[3].name, notes.name]
    )
    assert made[3].name.startswith("energy-20261104T030000Z")
    if sqlite_file(url) is not None:
        with sqlite3.connect(made[3]) as copy:
            assert copy.execute("SELECT email FROM users").fetchall() == [("kept@example.com",)]
    else:
        assert made[3].read_bytes().startswith(b"PGDMP")  # pg_dump's custom format


def test_the_job_logs_its_backup_and_survives_a_failure(engine, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("ENERGY_BACKUP_DIR", str(tmp_path / "backups"))
    get_settings.cache_clear()
    backup_job()
    (made,) = (tmp_path / "backups").iterdir()
    assert any(str(made) in r.getMessage() for r in caplog.records)

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ENERGY_BACKUP_DIR", str(blocked))
    get_settings.cache_clear()
    backup_job()  # must not raise: the scheduler keeps running
    assert any("scheduled backup failed" in r.getMessage() for r in caplog.records)

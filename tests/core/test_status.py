"""The administrators' status report (energy_core.status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.cache import MemoryCache
from energy_core.db import session_scope
from energy_core.rollup import last_rollup, rollup_dirty_hours
from energy_core.status import system_status
from tests.factories import add_readings, make_device, make_user

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_status_reports_backend_backlog_jobs_and_table_sizes(engine, database_url):
    with session_scope() as session:
        user = make_user(session)
        device = make_device(session, user=user)
        add_readings(
            session,
            user=user,
            device=device,
            points=[(NOW + timedelta(minutes=m), 10.0) for m in range(0, 120, 10)],
        )
    with session_scope(read_only=True) as session:
        before = system_status(session, cache=MemoryCache(), now=NOW)
    rollup_dirty_hours(engine)
    with session_scope(read_only=True) as session:
        # The run is recorded by the real clock: look five minutes after it, not at a fixed date
        # that the real one will pass.
        later = last_rollup(session).finished_at + timedelta(minutes=5)
        after = system_status(session, cache=MemoryCache(), now=later)

    assert before.backend == ("SQLite" if database_url.startswith("sqlite") else "PostgreSQL")
    assert before.dirty_hours == 3 and before.oldest_dirty_hour == NOW
    assert before.rollup is None
    assert after.dirty_hours == 0 and after.oldest_dirty_hour is None
    assert after.rollup.hours_computed == 3 and after.rollup.age_s == pytest.approx(300)
    sizes = {t.table: (t.rows, t.estimated) for t in after.tables}
    assert sizes["readings"] == (12, False)
    assert sizes["users"] == (1, False)
    assert after.cache_backend == "memory" and after.cache_healthy
    assert after.database.endswith(engine.url.database)

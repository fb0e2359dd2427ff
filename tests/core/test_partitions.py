"""Readings partitioned by month on PostgreSQL (one table on SQLite): the migration of a populated
table, partitions kept ahead and made for readings of any month, and retention by whole months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import func, select

from energy_core import partitions
from energy_core.db import session_scope
from energy_core.history_import import CsvOptions, read_history, store_history
from energy_core.household_scope import protect_table_sql
from energy_core.models import HourlyAggregate, Reading
from energy_core.partitions import keep_partitions
from energy_core.retention import prune_readings
from energy_core.rollup import rollup_dirty_hours
from energy_core.sql.ingest import mark_hours_dirty
from energy_core.sql.partitions import month_partitions, readings_partitioned
from energy_core.types import UTCDateTime, utcnow
from tests.core.test_migrations import _migrate
from tests.factories import add_readings, make_device, make_user

HOUR = timedelta(hours=1)


def _postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


def _partition_names(engine) -> set[str]:
    with engine.connect() as conn:
        return {p.name for p in month_partitions(conn)}


def _default_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM readings_default")).scalar_one()


def _partition_of(engine, ts: datetime) -> str:
    """The table a reading at ``ts`` is stored in (PostgreSQL)."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT DISTINCT tableoid::regclass::text FROM readings WHERE ts = :ts"),
            {"ts": ts},
        ).scalar_one()


def _snapshot(engine) -> tuple:
    """Every reading, and per device the count, sum, first and last reading and energy."""
    with session_scope(engine, read_only=True) as s:
        rows = sorted(s.exec(select(Reading.device_pk, Reading.ts, Reading.power_w)).all())
        per_device = sorted(
            s.exec(
                select(
                    Reading.device_pk,
                    func.count(),
                    func.sum(Reading.power_w),
                    func.min(Reading.ts),
                    func.max(Reading.ts),
                ).group_by(Reading.device_pk)
            ).all()
        )
        energy = sorted(
            s.exec(
                select(HourlyAggregate.device_pk, func.sum(HourlyAggregate.energy_wh)).group_by(
                    HourlyAggregate.device_pk
                )
            ).all()
        )
    return rows, per_device, energy


def test_the_migration_converts_a_populated_table_keeping_every_reading_and_figure(engine):
    months = [datetime(2019, 5, 31, 23, tzinfo=UTC), datetime(2024, 2, 29, 22, tzinfo=UTC)]
    with session_scope(engine) as s:
        user = make_user(s)
        devices = [make_device(s, user=user) for _ in range(3)]
        for k, device in enumerate(devices):
            for start in months:
                # Two hours each, across the end of the month.
                points = [(start + timedelta(minutes=m), 100.0 * (k + 1) + m) for m in range(120)]
                add_readings(s, user=user, device=device, points=points)
    rollup_dirty_hours(engine)
    before = _snapshot(engine)
    assert sum(n for _, n, *_ in before[1]) == 3 * 2 * 120

    _migrate(engine, "0060_alerts", down=True)
    with engine.connect() as conn:
        assert not readings_partitioned(conn)
    assert _snapshot(engine) == before
    _migrate(engine, "head")

    assert _snapshot(engine) == before
    if _postgres(engine):
        with engine.connect() as conn:
            assert readings_partitioned(conn)
        assert {"readings_p2019_05", "readings_p2019_06", "readings_p2024_02"} <= _partition_names(
            engine
        )
        # The current month and the two after it are ready too.
        assert f"readings_p{utcnow():%Y_%m}" in _partition_names(engine)
        assert _default_count(engine) == 0
        assert _partition_of(engine, datetime(2019, 6, 1, 0, 30, tzinfo=UTC)) == "readings_p2019_06"
    # The primary key still refuses a second copy of a reading: stored once, counted a duplicate.
    with session_scope(engine) as s:
        again = add_readings(
            s,
            user=user,
            device=devices[0],
            points=[(months[0], 100.0), (months[0] + timedelta(seconds=1), 7.0)],
        )
    assert (again.accepted, again.duplicates) == (1, 1)
    rows, per_device, _ = _snapshot(engine)
    assert len(rows) == 3 * 2 * 120 + 1


def test_a_reading_of_a_month_without_a_partition_is_stored_and_upkeep_gives_it_one(engine):
    csv = "time,heat_pump\n2019-03-10 12:00:00,1500\n2019-03-10 12:05:00,1600\n"
    plan = read_history(csv, format="csv", options=CsvOptions())
    with session_scope(engine) as s:
        user = make_user(s)
        stored = store_history(s, user_id=user.id, plan=plan)
    assert stored.accepted == 2
    at = datetime(2019, 3, 10, 12, tzinfo=UTC)
    if _postgres(engine):
        assert _partition_of(engine, at) == "readings_default"

    upkeep = keep_partitions(engine, now=datetime(2031, 1, 15, tzinfo=UTC))

    with session_scope(engine, read_only=True) as s:
        stamps = s.exec(select(Reading.ts).where(Reading.user_id == user.id)).all()
    assert sorted(stamps) == [at, at + timedelta(minutes=5)]
    if not _postgres(engine):
        assert (upkeep.created, upkeep.moved) == ([], 0)
        return
    assert upkeep.created == [
        "readings_p2019_03",
        "readings_p2031_01",
        "readings_p2031_02",
        "readings_p2031_03",
    ]
    assert upkeep.moved == 2
    assert _partition_of(engine, at) == "readings_p2019_03"
    assert _default_count(engine) == 0
    again = keep_partitions(engine, now=datetime(2031, 1, 15, tzinfo=UTC))
    assert (again.created, again.moved) == ([], 0)
    # The new partition takes new readings of its month, and refuses copies like the others.
    with session_scope(engine) as s:
        device = s.exec(select(Reading.device_pk).where(Reading.user_id == user.id)).first()
        result = s.connection().execute(
            text(
                "INSERT INTO readings VALUES (:u, :d, :ts, 1.0), (:u, :d, :ts2, 2.0) "
                "ON CONFLICT DO NOTHING"
            ),
            {"u": user.id, "d": device, "ts": at, "ts2": at + timedelta(minutes=1)},
        )
    assert result.rowcount == 1
    assert _partition_of(engine, at + timedelta(minutes=1)) == "readings_p2019_03"


def _seed_months(engine, *, start: datetime, days: int):
    """One device with a reading every 10 minutes for ``days`` days from ``start``, rolled up."""
    keep_partitions(engine, now=start, months_ahead=2)
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        points = [(start + timedelta(minutes=10 * k), 600.0) for k in range(days * 144)]
        add_readings(s, user=user, device=device, points=points)
    rollup_dirty_hours(engine)
    return user, device


def _stamps(engine, device_pk: int) -> list[datetime]:
    with session_scope(engine, read_only=True) as s:
        return sorted(s.exec(select(Reading.ts).where(Reading.device_pk == device_pk)).all())


def _energy(engine, device_pk: int) -> dict[datetime, float]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device_pk)).all()
    return {r.hour_start: r.energy_wh for r in rows}


def test_retention_drops_whole_months_and_deletes_the_part_before_the_horizon_row_by_row(engine):
    start = datetime(2032, 1, 20, tzinfo=UTC)
    _, device = _seed_months(engine, start=start, days=40)  # 20 January to 29 February
    energy = _energy(engine, device.id)
    horizon = datetime(2032, 2, 10, 6, tzinfo=UTC)

    run = prune_readings(engine, now=horizon + timedelta(days=400))

    assert run.horizon == horizon
    left = _stamps(engine, device.id)
    assert left[0] == horizon and len(left) == 40 * 144 - (21 * 144 + 6 * 6)
    assert _energy(engine, device.id) == energy
    if _postgres(engine):
        # (Months of other tests before the horizon, empty, go too.)
        assert [p for p in run.partitions if "2032" in p] == ["readings_p2032_01"]
        assert "readings_p2032_01" not in _partition_names(engine)
        assert run.hours == 9 * 24 + 6  # only February's part before the horizon, hour by hour
        assert run.readings == (9 * 24 + 6) * 6
    else:
        assert run.partitions == []
        assert (run.hours, run.readings) == (21 * 24 + 6, (21 * 24 + 6) * 6)


def _drop_aggregate(engine, device_pk: int, hour: datetime) -> None:
    delete = text("DELETE FROM hourly_aggregates WHERE device_pk = :d AND hour_start = :h")
    with engine.begin() as conn:
        deleted = conn.execute(
            delete.bindparams(bindparam("h", type_=UTCDateTime())), {"d": device_pk, "h": hour}
        ).rowcount
    assert deleted == 1


# The month of each case (one month per case: the partitions outlive a test's rows), and the
# hour spoiled from its start. The first and last hours are the ends of the span of hours that
# retention's check bounds each device's readings by.
SPOILS = {
    "dirty": (2033, timedelta(days=12, hours=5)),
    "missing aggregate": (2034, timedelta(days=12, hours=5)),
    "missing aggregate of the first hour": (2035, timedelta(0)),
    "missing aggregate of the last hour": (2036, timedelta(days=30) - HOUR),
}


@pytest.mark.parametrize("spoil", list(SPOILS))
def test_a_month_whose_hours_are_not_all_safely_aggregated_is_not_dropped(engine, spoil):
    year, offset = SPOILS[spoil]
    start = datetime(year, 4, 1, tzinfo=UTC)
    _, device = _seed_months(engine, start=start, days=30)
    spoiled = start + offset
    if spoil == "dirty":
        with engine.begin() as conn:
            mark_hours_dirty(conn, [(device.user_id, device.id, spoiled)])
    else:
        _drop_aggregate(engine, device.id, spoiled)

    run = prune_readings(engine, now=start + timedelta(days=431))

    mine = f"readings_p{start:%Y_%m}"
    assert mine not in run.partitions
    if _postgres(engine):
        assert mine in _partition_names(engine)
    left = {ts.replace(minute=0) for ts in _stamps(engine, device.id)}
    # The hour itself stays, and for a dirty hour the one before (its readings carry into it).
    assert left == ({spoiled - HOUR, spoiled} if spoil == "dirty" else {spoiled})


@pytest.mark.parametrize("spoiled", [False, True], ids=["aggregated", "one hour unaggregated"])
def test_an_outage_does_not_keep_a_month_but_an_unaggregated_hour_after_it_does(engine, spoiled):
    start = datetime(2037 if spoiled else 2038, 4, 1, tzinfo=UTC)
    keep_partitions(engine, now=start, months_ahead=2)
    offline = (start + timedelta(days=10), start + timedelta(days=13))
    with session_scope(engine) as s:
        user = make_user(s)
        steady, patchy = make_device(s, user=user), make_device(s, user=user)
        every_10_min = [start + timedelta(minutes=10 * k) for k in range(30 * 144)]
        add_readings(s, user=user, device=steady, points=[(ts, 600.0) for ts in every_10_min])
        add_readings(
            s,
            user=user,
            device=patchy,
            points=[(ts, 300.0) for ts in every_10_min if not offline[0] <= ts < offline[1]],
        )
    rollup_dirty_hours(engine)
    hours = _energy(engine, patchy.id)
    # Hours in the middle of the outage hold no reading and have no aggregate: the span from the
    # device's first to last hour is not full, so its hours are looked at one by one.
    assert offline[0] + 24 * HOUR not in hours
    back = offline[1] + 2 * HOUR
    if spoiled:
        _drop_aggregate(engine, patchy.id, back)

    run = prune_readings(engine, now=start + timedelta(days=431))

    mine = f"readings_p{start:%Y_%m}"
    left = {ts.replace(minute=0) for ts in _stamps(engine, patchy.id)}
    assert _stamps(engine, steady.id) == []
    if spoiled:
        assert mine not in run.partitions
        assert left == {back}
    else:
        assert left == set()
        assert (mine in run.partitions) is _postgres(engine)
        assert run.readings == (0 if _postgres(engine) else 30 * 144 * 2 - 3 * 144)
    if _postgres(engine):
        assert (mine in _partition_names(engine)) is spoiled


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_month_whose_detach_cannot_have_its_lock_in_time_waits_whole_for_the_next_run(engine):
    start = datetime(2039, 4, 1, tzinfo=UTC)
    _, device = _seed_months(engine, start=start, days=45)  # April and half of May
    april, may = f"readings_p{start:%Y_%m}", "readings_p2039_05"
    now = datetime(2039, 6, 1, 12, tzinfo=UTC) + timedelta(days=400)
    # A reader in the middle of a transaction on readings: the detach's lock must wait for it,
    # and every write that comes after would queue behind the detach.
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM readings")).scalar_one()
        held = prune_readings(engine, now=now, lock_timeout="200ms")
        reader.rollback()

    assert april not in held.partitions and may not in held.partitions
    assert {april, may} <= _partition_names(engine)
    # Neither month was deleted row by row meanwhile: the next run drops them whole.
    assert held.readings == 0
    assert len(_stamps(engine, device.id)) == 45 * 144

    run = prune_readings(engine, now=now)

    assert [p for p in run.partitions if "2039" in p] == [april, may]
    assert _stamps(engine, device.id) == []
    assert run.readings == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_reading_stored_between_the_check_and_the_detach_keeps_its_month(engine, monkeypatch):
    start = datetime(2040, 4, 1, tzinfo=UTC)
    user, device = _seed_months(engine, start=start, days=30)
    late = start + timedelta(days=5, minutes=7)
    check = partitions.partition_may_go

    def check_then_an_import(conn, partition, **kwargs) -> bool:
        may_go = check(conn, partition, **kwargs)
        if partition.start == start:
            # A history import commits a reading of the month once the check has said yes.
            with session_scope(engine) as s:
                stored = add_readings(s, user=user, device=device, points=[(late, 50.0)])
            assert (may_go, stored.accepted) == (True, 1)
        return may_go

    monkeypatch.setattr(partitions, "partition_may_go", check_then_an_import)

    run = prune_readings(engine, now=start + timedelta(days=431))

    mine = f"readings_p{start:%Y_%m}"
    assert mine not in run.partitions
    assert mine in _partition_names(engine)
    # Its hour is dirty: it and the hour before stay for the rollup, the rest went row by row.
    left = _stamps(engine, device.id)
    hour = late.replace(minute=0)
    assert late in left and {ts.replace(minute=0) for ts in left} == {hour - HOUR, hour}


def test_the_migration_carries_over_indexes_row_security_and_policies(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=[(datetime(2020, 1, 1, tzinfo=UTC), 5.0)])
    _migrate(engine, "0060_alerts", down=True)
    postgres = _postgres(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_readings_power ON readings (power_w)"))
        if postgres:
            conn.execute(text("ALTER TABLE readings ENABLE ROW LEVEL SECURITY"))
            conn.execute(
                text(
                    "CREATE POLICY household ON readings USING "
                    "(user_id = current_setting('energy.user_id', true)::int)"
                )
            )
    _migrate(engine, "head")
    with engine.connect() as conn:
        if not postgres:
            index = conn.execute(
                text("SELECT tbl_name FROM sqlite_master WHERE name = 'ix_readings_power'")
            ).scalar_one()
            assert index == "readings"
            assert not readings_partitioned(conn)
            return
        assert readings_partitioned(conn)
        index = conn.execute(
            text(
                "SELECT indrelid::regclass::text FROM pg_index "
                "WHERE indexrelid = 'ix_readings_power'::regclass"
            )
        ).scalar_one()
        rls = conn.execute(
            text("SELECT relrowsecurity FROM pg_class WHERE oid = 'readings'::regclass")
        ).scalar_one()
        policy = conn.execute(
            text(
                "SELECT qual FROM pg_policies "
                "WHERE tablename = 'readings' AND policyname = 'household'"
            )
        ).scalar_one()
    with engine.begin() as conn:  # leave the schema as the migrations make it
        conn.execute(text("DROP INDEX ix_readings_power"))
        conn.execute(text("DROP POLICY household ON readings"))
        # Row-level security stays on, with the migrations' own policies (0090): the tests after
        # this one rely on readings being protected like every other household table.
        for statement in protect_table_sql("readings"):
            conn.execute(text(statement))
    assert index == "readings"
    assert rls is True
    assert "current_setting('energy.user_id'" in policy
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(Reading)).one() == 1

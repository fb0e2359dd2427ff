"""History's series frame (and so its CSV download) is made from the series' columns; it is the
frame the figures themselves give, cell for cell, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import instant_period, load_household, read_series
from tests.factories import add_readings, make_device, make_user
from webapp.reads import SERIES_COLUMNS, _figures_frame, cell_row, table_columns

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_the_series_frame_from_columns_is_the_frame_of_the_figures(engine):
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=0.25)
        heater = make_device(s, user=user, device_id="heater")
        solar = make_device(s, user=user, device_id="solar", bidirectional=True, type="solar")
        make_device(s, user=user, device_id="silent")
        add_readings(
            s,
            user=user,
            device=heater,
            points=[(T0 + timedelta(minutes=m), 700.0 + m % 11) for m in range(2 * 24 * 60)],
        )
        add_readings(
            s,
            user=user,
            device=solar,
            points=[(T0 + timedelta(hours=30, minutes=m), -900.0) for m in range(300)],
        )
    rollup_dirty_hours(engine)
    timezone = "Europe/London"
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        period = instant_period(
            T0 + timedelta(minutes=20), T0 + timedelta(days=4), timezone=timezone
        )
        series = read_series(s, household.select(period, granularity="day"))
    from_columns = _figures_frame(table_columns(series.table), SERIES_COLUMNS, timezone)
    from_figures = _figures_frame(
        [
            {"period_start": f.start, "period_end": f.end, "device_id": f.device_id} | cell_row(f)
            for f in series.rows()
        ],
        SERIES_COLUMNS,
        timezone,
    )
    assert len(from_columns) == 4 * len(series.devices) > 0
    assert from_columns["consumption_wh"].isna().any()
    assert from_columns["min_w"].notna().any()
    pd.testing.assert_frame_equal(from_columns, from_figures)


def test_the_device_hours_frame_from_columns_is_the_frame_of_the_figures(engine):
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=0.25)
        solar = make_device(s, user=user, device_id="solar", bidirectional=True, type="solar")
        add_readings(
            s,
            user=user,
            device=solar,
            points=[(T0 + timedelta(minutes=m), -900.0 + m % 5) for m in range(200)],
        )
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        period = instant_period(T0 - timedelta(hours=2), T0 + timedelta(hours=5), timezone="UTC")
        series = read_series(s, household.select(period, device_ids=["solar"], granularity="hour"))
    from_columns = _figures_frame(table_columns(series.table), SERIES_COLUMNS, "UTC")
    from_figures = _figures_frame(
        [
            {"period_start": f.start, "period_end": f.end, "device_id": "solar"} | cell_row(f)
            for f in series.by_device.get("solar", [])
        ],
        SERIES_COLUMNS,
        "UTC",
    )
    assert len(from_columns) == 7
    assert from_columns["generation_wh"].isna().sum() == 3  # two hours before, one after
    pd.testing.assert_frame_equal(from_columns, from_figures)


def test_a_cell_reads_the_same_before_and_after_its_hours_are_summed(engine):
    """A cell of History's frame (and its CSV) is the same whether its hours were still summed
    from raw readings or already from the stored hours: it carries no "when" of its extremes,
    which only raw readings gave (a time in some rows, none in others of one download)."""
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=0.25)
        heater = make_device(s, user=user, device_id="heater")
        add_readings(
            s,
            user=user,
            device=heater,
            points=[(T0 + timedelta(minutes=m), 400.0 + (m * 37) % 500) for m in range(30 * 60)],
        )

    def frame() -> pd.DataFrame:
        with session_scope(engine, read_only=True) as s:
            household = load_household(s, user_id=user.id)
            period = instant_period(T0, T0 + timedelta(days=2), timezone="Europe/London")
            series = read_series(s, household.select(period, granularity="hour"))
        return _figures_frame(table_columns(series.table), SERIES_COLUMNS, "Europe/London")

    raw = frame()
    rollup_dirty_hours(engine)
    stored = frame()
    assert raw["max_w"].notna().sum() == 30
    assert not {"min_at", "max_at"} & set(stored.columns)
    pd.testing.assert_frame_equal(raw, stored, check_exact=False, rtol=1e-12)

"""A series' columns (``Series.table``) hold exactly the figures its ``Figure`` objects do, on
SQLite and PostgreSQL: every field and every metric of every (device, period) cell, "no data"
(None in a figure, NaN in a column) included, for generators, a grid meter, a device that starts
late, extremes read from raw readings (with when) and from stored hours, hours of the day, and
before and after the rollup."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_core.db import session_scope
from energy_core.read_results import Energy, HourlyStat
from energy_core.reads import _hourly_items
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import instant_period, load_household, read_series
from energy_core.stats.series import _sum
from energy_core.stats.table import FIELDS, METRICS
from tests.factories import add_readings, make_device, make_user
from tests.strategies import database_examples, watts

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR_S = 3600


def same(column_value: object, figure_value: object) -> bool:
    """Equal exactly; NaN in a column stands for None in a figure."""
    if figure_value is None:
        return column_value is None or (
            isinstance(column_value, float) and math.isnan(column_value)
        )
    if isinstance(column_value, np.generic):
        column_value = column_value.item()
    return column_value == figure_value and type(column_value) is type(figure_value)


def assert_table_is_the_figures(series) -> None:  # noqa: ANN001
    table = series.table
    assert table.device_ids == [d.device_id for d in series.devices]
    assert table.shape == (len(series.devices), len(series.periods))
    metrics = {name: table.metric(name) for name in METRICS}
    for j, device in enumerate(series.devices):
        figures = series.by_device[device.device_id]
        assert len(figures) == len(series.periods)
        for i, figure in enumerate(figures):
            assert (table.starts[i], table.ends[i]) == (figure.start, figure.end)
            for name in FIELDS:
                assert same(table.fields[name][j, i], getattr(figure, name)), (name, j, i)
            for name in METRICS:
                assert same(metrics[name][j, i], getattr(figure, name)), (name, j, i)
    # Each device's total from the columns is the figures of its periods added up one by one.
    totals = series.device_totals()
    assert [t.device_id for t in totals] == table.device_ids
    for total in totals:
        added = _sum(series.selection, series.by_device[total.device_id], device_id=total.device_id)
        one = series.device_total(total.device_id)
        for name in ("start", "end", "device_id", *FIELDS):
            assert same(getattr(total, name), getattr(added, name)), (name, total.device_id)
            assert same(getattr(one, name), getattr(added, name)), (name, total.device_id)
        # A new figure each time: completing one changes no other.
        assert one is not total
    # The columns list the cells as rows() gives the figures: period by period.
    rows = list(series.rows())
    columns = table.columns(METRICS)
    assert len(columns["device_id"]) == len(rows)
    for k, figure in enumerate(rows):
        assert columns["period_start"][k] == figure.start
        assert columns["period_end"][k] == figure.end
        assert columns["device_id"][k] == figure.device_id
        for name in METRICS:
            assert same(columns[name][k], getattr(figure, name)), (name, k)


def hourly_items_of_figures(series, first_hour: datetime, after_device: str) -> list:  # noqa: ANN001
    """The read API's hourly items as they were made from the figures, one object each."""
    items = []
    for figure in sorted(series.rows(), key=lambda f: (f.start, f.device_id)):
        hour = figure.start.astimezone(UTC)
        if hour == first_hour and figure.device_id <= after_device:
            continue
        if not figure.has_data and not figure.sample_count:
            continue
        items.append(
            HourlyStat(
                device_id=figure.device_id,
                hour_start=hour,
                energy=Energy.of(figure),
                avg_watts=figure.avg_w,
                min_watts=figure.min_w,
                max_watts=figure.max_w,
                sample_count=figure.sample_count,
            )
        )
    return items


def assert_hourly_items_are_the_figures(series) -> None:  # noqa: ANN001
    if not series.periods:
        return
    first_hour = series.periods[0][0].astimezone(UTC)
    for after in ("", "battery", "zzz"):
        from_columns = _hourly_items(series.table, first_hour, after)
        from_figures = hourly_items_of_figures(series, first_hour, after)
        assert from_columns == from_figures
        for mine, theirs in zip(from_columns, from_figures, strict=True):
            for name in ("consumption_wh", "generation_wh", "net_wh", "import_wh", "export_wh"):
                assert same(getattr(mine.energy, name), getattr(theirs.energy, name))
            assert same(mine.sample_count, theirs.sample_count)


def seconds(t: float) -> datetime:
    return T0 + timedelta(microseconds=round(t * 1e6))


points_of = st.lists(
    st.tuples(st.integers(min_value=0, max_value=6 * HOUR_S).map(float), watts(3000, digits=2)),
    min_size=1,
    max_size=25,
)


@database_examples(10)
@given(
    heater=points_of.map(lambda ps: [(t, abs(p)) for t, p in ps]),
    battery=points_of,
    meter=st.one_of(st.none(), points_of),
    late=st.one_of(st.none(), points_of.map(lambda ps: [(t + 4 * HOUR_S, p) for t, p in ps])),
    bounds=st.tuples(
        st.integers(min_value=0, max_value=6 * HOUR_S),
        st.integers(min_value=1, max_value=10 * HOUR_S),
    ),
    granularity=st.sampled_from(["hour", "day", "total"]),
    hours=st.one_of(st.none(), st.frozensets(st.integers(0, 23), min_size=1, max_size=6)),
    rolled=st.booleans(),
)
def test_the_columns_are_the_figures(
    engine, heater, battery, meter, late, bounds, granularity, hours, rolled
):
    lo = float(min(bounds))
    hi = float(max(bounds[1], bounds[0] + 1))
    specs = {"heater": heater, "battery": battery}
    if meter is not None:
        specs["grid"] = meter
    if late is not None:
        specs["late"] = late
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=0.25)
        for name, points in specs.items():
            device = make_device(
                s,
                user=user,
                device_id=name,
                bidirectional=name != "heater",
                max_gap_s=600,
                type="grid_meter" if name == "grid" else "other",
            )
            add_readings(s, user=user, device=device, points=[(seconds(t), p) for t, p in points])
        # Registered, never read: it takes part in nothing.
        make_device(s, user=user, device_id="silent")
    if rolled:
        rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        period = instant_period(seconds(lo), seconds(hi), timezone="UTC")
        series = read_series(s, household.select(period, granularity=granularity, hours=hours))
    assert_table_is_the_figures(series)
    assert_hourly_items_are_the_figures(series)


def test_a_month_by_day_keeps_no_data_cells_and_generators_and_extremes(engine):
    """Days without readings are None in the figures and NaN in the columns; a generator's
    minimum is its generation peak; an extreme read in a partial hour says when."""
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=0.25)
        heater = make_device(s, user=user, device_id="heater")
        solar = make_device(s, user=user, device_id="solar", bidirectional=True, type="solar")
        add_readings(
            s,
            user=user,
            device=heater,
            points=[(T0 + timedelta(minutes=m), 800.0 + m % 7) for m in range(3 * 24 * 60)],
        )
        add_readings(
            s,
            user=user,
            device=solar,
            points=[
                (T0 + timedelta(days=1, minutes=m), -1200.0 if 300 <= m < 900 else 15.0)
                for m in range(24 * 60)
            ],
        )
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        # From the middle of an hour: the first hour is read raw, so its extremes say when.
        period = instant_period(
            T0 + timedelta(minutes=30), T0 + timedelta(days=5), timezone="Europe/London"
        )
        series = read_series(s, household.select(period, granularity="day"))
    assert_table_is_the_figures(series)
    assert_hourly_items_are_the_figures(series)
    table = series.table
    solar_row = table.device_ids.index("solar")
    assert np.isnan(table.metric("consumption_wh")[solar_row, 0])
    assert table.metric("generation_wh")[solar_row, 1] == pytest.approx(1200.0 * 10)
    assert table.metric("min_w")[solar_row, 1] == -1200.0
    assert np.isnan(table.metric("avg_w")[:, 4]).all()
    heater_row = table.device_ids.index("heater")
    assert table.fields["min_at"][heater_row, 0] is not None

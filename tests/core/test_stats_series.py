"""The read layer's figures against an independent calculation of docs/metrics.md, on SQLite and
PostgreSQL: consumption, generation, grid import and export hour by hour (derived and from a grid
meter), cost, coverage over the time devices took part, before and after the rollup."""

from __future__ import annotations

import gc
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import days_period, instant_period, load_household, read_series
from tests.factories import add_readings, make_device, make_user
from tests.strategies import database_examples, watts

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR_S = 3600
PRICE = 0.25


def reference(devices: dict[str, dict], lo: float, hi: float, *, meter: str | None = None):
    """Per device and per UTC hour piece of [lo, hi) (seconds since T0): consumed, generated and
    covered seconds, by walking each reading's hold; then the household's hourly net, import,
    export and cost. ``devices`` maps a name to {"points": [(t, w)], "gap": s, "from": t}."""
    hours: dict[str, dict[int, list[float]]] = {}
    for name, spec in devices.items():
        latest: dict[float, float] = {}
        for t, p in spec["points"]:
            latest.setdefault(t, p)
        ordered = sorted(latest.items())
        per_hour: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for i, (t, p) in enumerate(ordered):
            end = t + spec["gap"]
            if i + 1 < len(ordered):
                end = min(end, ordered[i + 1][0])
            cursor = max(t, lo)
            end = min(end, hi)
            while cursor < end:
                hour = int(cursor // HOUR_S)
                piece_end = min(end, (hour + 1) * HOUR_S)
                seconds = piece_end - cursor
                per_hour[hour][0 if p >= 0 else 1] += abs(p) * seconds / 3600
                per_hour[hour][2] += seconds
                cursor = piece_end
        hours[name] = per_hour
    counted = [n for n in devices if n != meter]
    totals = {name: [sum(v[k] for v in hours[name].values()) for k in range(3)] for name in devices}
    imported = exported = 0.0
    for hour in {h for per_hour in hours.values() for h in per_hour}:
        if meter is not None and hours[meter].get(hour, [0, 0, 0])[2] > 0:
            # The meter's readings cover some of this hour: they are its import and export.
            imported += hours[meter][hour][0]
            exported += hours[meter][hour][1]
            continue
        net = sum(
            hours[n].get(hour, [0, 0, 0])[0] - hours[n].get(hour, [0, 0, 0])[1] for n in counted
        )
        imported += max(net, 0.0)
        exported += max(-net, 0.0)
    span = sum(max(0.0, hi - max(lo, devices[n]["from"])) for n in devices)
    return {
        "consumption": sum(totals[n][0] for n in counted),
        "generation": sum(totals[n][1] for n in counted),
        "import": imported,
        "export": exported,
        "cost": imported * PRICE / 1000,
        "coverage": sum(totals[n][2] for n in devices) / span if span else None,
        "devices": totals,
    }


def seconds(t: float) -> datetime:
    return T0 + timedelta(microseconds=round(t * 1e6))


points_of = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5 * HOUR_S).map(float),
        watts(3000, digits=2),
    ),
    min_size=1,
    max_size=30,
)


@database_examples(12)
@given(
    heater=points_of.map(lambda ps: [(t, abs(p)) for t, p in ps]),
    battery=points_of,
    meter=st.one_of(st.none(), points_of),
    bounds=st.tuples(
        st.integers(min_value=0, max_value=5 * HOUR_S),
        st.integers(min_value=1, max_value=6 * HOUR_S),
    ),
    rolled=st.booleans(),
)
def test_figures_equal_an_independent_calculation(engine, heater, battery, meter, bounds, rolled):
    lo = float(min(bounds))
    hi = float(max(bounds[1], bounds[0] + 1))
    specs = {"heater": {"points": heater, "gap": 600}, "battery": {"points": battery, "gap": 900}}
    if meter is not None:
        specs["grid"] = {"points": meter, "gap": 600}
    for spec in specs.values():
        spec["from"] = min(t for t, _ in spec["points"])
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=PRICE)
        for name, spec in specs.items():
            device = make_device(
                s,
                user=user,
                device_id=name,
                bidirectional=name != "heater",
                max_gap_s=spec["gap"],
                type="grid_meter" if name == "grid" else "other",
            )
            add_readings(
                s, user=user, device=device, points=[(seconds(t), p) for t, p in spec["points"]]
            )
    if rolled:
        rollup_dirty_hours(engine)
    expected = reference(specs, lo, hi, meter="grid" if meter is not None else None)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        period = instant_period(seconds(lo), seconds(hi), timezone="UTC")
        series = read_series(s, household.select(period, granularity="hour"))
        total = series.total
    assert total.consumed_wh == pytest.approx(expected["consumption"], rel=1e-9, abs=1e-6)
    assert total.generated_wh == pytest.approx(expected["generation"], rel=1e-9, abs=1e-6)
    assert total.imported_wh == pytest.approx(expected["import"], rel=1e-9, abs=1e-6)
    assert total.exported_wh == pytest.approx(expected["export"], rel=1e-9, abs=1e-6)
    assert total.cost_value == pytest.approx(expected["cost"], rel=1e-9, abs=1e-9)
    if expected["coverage"] is None:
        assert total.coverage is None
    else:
        assert total.coverage == pytest.approx(expected["coverage"], rel=1e-9, abs=1e-9)
    for name, (consumed, generated, covered) in expected["devices"].items():
        if name not in series.by_device:
            assert covered == 0
            continue
        figure = series.device_total(name)
        assert figure.consumed_wh == pytest.approx(consumed, rel=1e-9, abs=1e-6)
        assert figure.generated_wh == pytest.approx(generated, rel=1e-9, abs=1e-6)
        assert figure.covered_s == pytest.approx(covered, abs=1e-6)


@pytest.fixture
def home(engine):  # noqa: ANN201
    """A heater drawing 1 kW from T0 for 6 hours, solar producing 1.5 kW in hours 2 and 3 with a
    20 W standby at night, readings every minute."""
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=PRICE)
        heater = make_device(s, user=user, device_id="heater", location="Hall")
        solar = make_device(
            s, user=user, device_id="solar", location="Roof", bidirectional=True, type="solar"
        )
        add_readings(
            s,
            user=user,
            device=heater,
            points=[(T0 + timedelta(minutes=m), 1000.0) for m in range(6 * 60)],
        )
        add_readings(
            s,
            user=user,
            device=solar,
            points=[
                (T0 + timedelta(minutes=m), -1500.0 if 120 <= m < 240 else 20.0)
                for m in range(6 * 60)
            ],
        )
    rollup_dirty_hours(engine)
    return user.id


def test_generation_is_positive_and_import_export_come_hour_by_hour(home):
    with session_scope(read_only=True) as s:
        household = load_household(s, user_id=home)
        period = instant_period(T0, T0 + timedelta(hours=6), timezone="UTC")
        series = read_series(s, household.select(period, granularity="hour"))
    total = series.total
    solar = series.device_total("solar")
    # The solar inverter's standby is consumption; what it produced is generation, positive.
    assert solar.consumed_wh == pytest.approx(20.0 * 4)
    assert solar.generated_wh == pytest.approx(1500.0 * 2)
    assert solar.max_w == 20.0 and solar.min_w == -1500.0
    assert total.consumption_wh == pytest.approx(6000.0 + 80.0)
    assert total.generation_wh == pytest.approx(3000.0)
    # Hours 2 and 3 export 500 Wh each; the others import 1020 Wh each.
    assert total.import_wh == pytest.approx(4 * 1020.0)
    assert total.export_wh == pytest.approx(2 * 500.0)
    assert total.cost == pytest.approx(4 * 1020.0 * PRICE / 1000)
    assert total.self_consumption_wh == pytest.approx(2000.0)
    assert total.self_sufficiency == pytest.approx(1 - 4080.0 / 6080.0)
    assert [f.export_wh for f in series.household] == pytest.approx([0, 0, 500, 500, 0, 0])


def test_a_device_registered_later_does_not_change_the_past(home):
    period = instant_period(T0, T0 + timedelta(hours=6), timezone="UTC")
    with session_scope(read_only=True) as s:
        before = read_series(s, load_household(s, user_id=home).select(period)).total
    with session_scope() as s:
        user = s.get(__import__("energy_core.models", fromlist=["User"]).User, home)
        freezer = make_device(s, user=user, device_id="freezer")
        add_readings(s, user=user, device=freezer, points=[(T0 + timedelta(hours=7), 90.0)])
    with session_scope(read_only=True) as s:
        after = read_series(s, load_household(s, user_id=home).select(period)).total
    assert after.coverage == before.coverage == pytest.approx(1.0)
    assert after.avg_w == pytest.approx(before.avg_w)
    assert (after.consumption_wh, after.members) == (before.consumption_wh, before.members)


@pytest.mark.parametrize("collecting", [True, False], ids=["collector on", "collector off"])
def test_making_every_figure_leaves_the_cycle_collector_as_it_was(home, collecting):
    """The figures of every device are made with the cycle collector held off; it runs again
    afterwards, and a process that had switched it off finds it still off."""
    period = instant_period(T0, T0 + timedelta(hours=6), timezone="UTC")
    with session_scope(read_only=True) as s:
        series = read_series(s, load_household(s, user_id=home).select(period, granularity="hour"))
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        rows = list(series.rows())
        assert gc.isenabled() == collecting
    finally:
        (gc.enable if was else gc.disable)()
    # Period by period, the devices in order: each device's own figures, with their energy.
    assert len(rows) == 6 * len(series.devices) > 0
    assert rows == [series.by_device[d.device_id][i] for i in range(6) for d in series.devices]
    assert sum(f.consumed_wh for f in rows) == pytest.approx(series.total.consumed_wh)
    assert series.total.consumed_wh > 0


@pytest.mark.parametrize("rolled", [False, True])
def test_the_grid_meter_alone_reads_import_and_export_not_consumption(engine, rolled):
    """Within one hour the meter reads 2 kW import for 30 min and 1 kW export for 30 min: its
    row says 1000 Wh imported and 500 Wh exported (what it measured, as in the household's
    figures), not a netted 500 Wh import, and no consumption: it is not a consumer."""
    with session_scope(engine) as s:
        user = make_user(s, price_per_kwh=PRICE)
        meter = make_device(s, user=user, device_id="grid", type="grid_meter", bidirectional=True)
        add_readings(
            s,
            user=user,
            device=meter,
            points=[(T0 + timedelta(minutes=m), 2000.0 if m < 30 else -1000.0) for m in range(60)],
        )
    if rolled:
        rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        period = instant_period(T0, T0 + timedelta(hours=1), timezone="UTC")
        series = read_series(s, household.select(period))
    for figure in (series.device_total("grid"), series.total):
        assert (figure.import_wh, figure.export_wh) == pytest.approx((1000.0, 500.0))
        assert figure.cost == pytest.approx(1000.0 * PRICE / 1000)
        assert figure.consumption_wh is None and figure.generation_wh is None
        assert figure.coverage == pytest.approx(1.0)


def test_no_data_is_none_not_zero(home):
    with session_scope(read_only=True) as s:
        household = load_household(s, user_id=home)
        before_any = instant_period(T0 - timedelta(days=2), T0 - timedelta(days=1), timezone="UTC")
        total = read_series(s, household.select(before_any)).total
    assert total.consumption_wh is None and total.cost is None and total.coverage is None
    assert household.select(before_any).empty.code == "no_readings"


def test_rooms_and_devices_that_share_nothing_say_so(home):
    with session_scope(read_only=True) as s:
        household = load_household(s, user_id=home)
    period = instant_period(T0, T0 + timedelta(hours=1), timezone="UTC")
    empty = household.select(period, device_ids=["heater"], rooms=["Roof"]).empty
    assert empty.code == "no_match"
    assert "both" in empty.message and "Roof" in empty.message


def test_days_and_hours_of_the_day_follow_the_local_clock_across_a_change(engine):
    london = "Europe/London"
    start = datetime(2026, 3, 28, tzinfo=ZoneInfo(london))
    with session_scope(engine) as s:
        user = make_user(s, timezone=london)
        device = make_device(s, user=user)
        add_readings(
            s,
            user=user,
            device=device,
            points=[(start + timedelta(minutes=m), 1000.0) for m in range(3 * 24 * 60 + 10)],
        )
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        days = days_period(date(2026, 3, 28), date(2026, 3, 30), timezone=london)
        whole = read_series(s, household.select(days, granularity="day")).household
        nights = read_series(
            s, household.select(days.with_time_of_day("night"), granularity="day")
        ).household
    assert [f.consumption_wh for f in whole] == pytest.approx([24000.0, 23000.0, 24000.0])
    # 00:00-06:00 and 22:00-24:00 local; the night of the change has no 01:00.
    assert [f.consumption_wh for f in nights] == pytest.approx([8000.0, 7000.0, 8000.0])
    assert [f.coverage for f in nights] == pytest.approx([1.0, 1.0, 1.0])

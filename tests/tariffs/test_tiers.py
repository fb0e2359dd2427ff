"""Tiered import prices (docs/tariffs.md, "Tiers"), on SQLite and PostgreSQL: the kWh counted
from the start of the local day (or billing period) in time order, time-of-use periods keeping
their price while their kWh count, a read of part of a day counting from the day's start, devices
priced at the household's hour price; and every problem of a bad tiers object named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_cli.main import main
from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import day_period, instant_period, load_household, read_series
from energy_core.stats.bills import bill_for
from energy_core.stats.money import Tiers
from energy_core.tariffs import TariffError, set_tariff, validate_tariff
from tests.tariffs.household import DST_DAY, NOW, seed

# 10p for the first 5 kWh of each day, 20p up to 12 kWh, then 30p; Sunday 02:00-04:00 local
# at 5p whatever the count (on 29 March those are 01:00-03:00 UTC: the clocks go forward at 01:00).
TIERED = {
    "currency": "GBP",
    "valid_from": "2026-03-29",
    "standing_charge_per_day": 0.5,
    "import": {
        "default": 0.30,
        "periods": [{"days": "sun", "from": "02:00", "to": "04:00", "price": 0.05}],
        "tiers": {
            "per": "day",
            "bands": [{"up_to_kwh": 5, "price": 0.10}, {"up_to_kwh": 12, "price": 0.20}],
        },
    },
    "export": {"default": 0.15},
}
# On 29 March the household buys 1 kWh in each UTC hour but 12:00 and 13:00, when solar covers the
# heater and 1 kWh is exported in each: hour 0 at 0.10 (count 0-1), hours 1-2 in the period at
# 0.05 (count 1-3), hours 3-4 at 0.10 (3-5), hours 5-11 at 0.20 (5-12), hours 14-22 at 0.30.
HOUSEHOLD = 0.10 + 2 * 0.05 + 2 * 0.10 + 7 * 0.20 + 9 * 0.30 - 2 * 0.15


def figures(engine, user_id: int, period, granularity: str = "total"):  # noqa: ANN001, ANN201
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user_id)
        return read_series(s, household.select(period, granularity=granularity))


@pytest.fixture
def tiered(engine) -> int:
    user_id, _ = seed(engine)
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TIERED)
    return user_id


def test_a_day_under_tiers_and_a_time_of_use_period_by_hand(engine, tiered):
    day = figures(engine, tiered, day_period(DST_DAY, now=NOW))
    assert day.total.cost_value == pytest.approx(HOUSEHOLD)  # 4.20
    by_device = {d: f.cost_value for d, f in zip(day.by_device, day.device_totals(), strict=True)}
    # The heater buys all 23 kWh: also 12:00 and 13:00, at the count's place then (12: 0.30).
    assert by_device["heater"] == pytest.approx(HOUSEHOLD + 2 * 0.15 + 2 * 0.30)
    assert by_device["solar"] == pytest.approx(-4 * 0.15)
    # Hour by hour the same money: each hour's price does not depend on how the range is cut.
    hours = figures(engine, tiered, day_period(DST_DAY, now=NOW), "hour")
    assert sum(f.cost_value for f in hours.household) == pytest.approx(HOUSEHOLD)
    # The 30th starts a new count: the heater's last 20 minutes at the first band.
    assert figures(engine, tiered, day_period(date(2026, 3, 30), now=NOW)).total.cost_value == (
        pytest.approx(0.10 / 3)
    )
    with session_scope(engine, read_only=True) as s:
        bill = bill_for(s, load_household(s, user_id=tiered), DST_DAY, DST_DAY, now=NOW)
    assert bill.total == pytest.approx(HOUSEHOLD + 0.5)


def test_a_read_of_part_of_a_day_counts_from_the_days_start(engine, tiered):
    ten = datetime(2026, 3, 29, 10, tzinfo=UTC)
    one_hour = instant_period(ten, ten + timedelta(hours=1), timezone="Europe/London")
    # 10 kWh bought since midnight: the 11th kWh is in the second band.
    assert figures(engine, tiered, one_hour).total.cost_value == pytest.approx(0.20)
    half = instant_period(ten, ten + timedelta(minutes=30), timezone="Europe/London")
    assert figures(engine, tiered, half).total.cost_value == pytest.approx(0.5 * 0.20)


def test_a_count_per_billing_period_carries_from_day_to_day(engine):
    user_id, _ = seed(engine)
    rollup_dirty_hours(engine)
    per_period = {
        "currency": "GBP",
        "valid_from": "2026-03-28",
        "billing_day": 1,
        "import": {
            "default": 0.30,
            "tiers": {"per": "billing_period", "bands": [{"up_to_kwh": 30, "price": 0.10}]},
        },
        "export": {"default": 0.15},
    }
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=per_period)
    # The count starts with the plan on the 28th (not the 1st): 24 kWh that day at 0.10; on the
    # 29th 6 more at 0.10 until 30 kWh, 15 at 0.30, 2 exported at 0.15.
    first = figures(engine, user_id, day_period(date(2026, 3, 28), now=NOW))
    assert first.total.cost_value == pytest.approx(24 * 0.10)
    second = figures(engine, user_id, day_period(DST_DAY, now=NOW))
    assert second.total.cost_value == pytest.approx(6 * 0.10 + 15 * 0.30 - 2 * 0.15)


def test_the_mean_tier_price_of_a_run_of_kwh():
    tiers = Tiers(per="day", limits_kwh=(5.0, 12.0), prices=(0.10, 0.20))
    assert tiers.mean_price(4.0, 2.0, 0.30) == pytest.approx((0.10 + 0.20) / 2)
    assert tiers.mean_price(11.0, 4.0, 0.30) == pytest.approx((0.20 + 3 * 0.30) / 4)
    assert tiers.mean_price(5.0, 0.0, 0.30) == pytest.approx(0.20)
    assert tiers.mean_price(12.0, 0.0, 0.30) == pytest.approx(0.30)


def test_every_problem_of_bad_tiers_is_named():
    bad = {
        "currency": "GBP",
        "valid_from": "2026-03-29",
        "import": {
            "default": 0.3,
            "tiers": {
                "per": "week",
                "bands": [{"up_to_kwh": 8, "price": 0.2}, {"up_to_kwh": 8, "price": -1}, 3],
                "colour": "red",
            },
        },
        "export": {"default": 0.1, "tiers": {"per": "day", "bands": []}},
    }
    with pytest.raises(TariffError) as caught:
        validate_tariff(bad)
    assert {(d["field"], d["message"]) for d in caught.value.details} == {
        ("import.tiers.per", "must be day or billing_period (what the count restarts)"),
        ("import.tiers.colour", "is not a field of tiers (per, bands)"),
        (
            "import.tiers.bands[1].up_to_kwh",
            "must be more than 8 (the limit of the band before, or 0)",
        ),
        ("import.tiers.bands[1].price", "must be between 0 and 1000"),
        ("import.tiers.bands[2]", 'must be an object {"up_to_kwh", "price"}'),
        ("export.tiers", "tiers are for import prices only"),
    }
    with pytest.raises(TariffError, match=r"import.tiers.bands: must be a list of 1 to 10 bands"):
        validate_tariff(
            {**TIERED, "import": {"default": 0.3, "tiers": {"per": "day", "bands": []}}}
        )


def test_the_cli_shows_the_tiers_in_words(engine, tmp_path, capsys):
    _, email = seed(engine)
    path = tmp_path / "tiered.json"
    path.write_text(json.dumps(TIERED))
    assert main(["tariffs", "set", "--user", email, "--file", str(path)]) == 0
    capsys.readouterr()
    assert main(["tariffs", "show", "--user", email]) == 0
    out = capsys.readouterr().out
    assert (
        "grid import at £0.10/kWh from 0 to 5 kWh, £0.20/kWh from 5 to 12 kWh, then £0.30/kWh, "
        "counted per day (£0.05/kWh sun 02:00-04:00)"
    ) in out
    assert '"tiers": {"bands": [{"price": 0.1, "up_to_kwh": 5.0}' in out

"""A tariff's price per hour, without a database: time-of-use periods in local time (also across
midnight and on the days the clocks change), effective dates, half-hour cuts and price series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_core.models import User
from energy_core.stats.money import PriceSeries, Tariff
from energy_core.tariffs import TariffError, build_tariff, parse_days, validate_tariff
from tests.factories import time_of_use

LONDON = "Europe/London"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def tariff(*specs: dict, legacy: float = 0.25, series: dict | None = None) -> Tariff:
    user = User(email="a@example.com", password_hash="x", timezone=LONDON, price_per_kwh=legacy)
    return build_tariff(user, [validate_tariff(s) for s in specs], now=NOW, series=series or {})


NIGHT = time_of_use(
    valid_from="2026-03-01",
    default=0.30,
    cheap=("sat", "23:00", "05:00", 0.10),
    export=0.15,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def night_with_import(default: float, period: dict) -> dict:
    """NIGHT with its import price replaced by ``default`` and the one ``period``."""
    return {**NIGHT, "import": {"default": default, "periods": [period]}}


def test_a_period_crossing_midnight_belongs_to_the_day_it_starts():
    t = tariff(NIGHT)
    assert t.prices_at(at("2026-03-07T22:00:00+00:00")) == (0.30, 0.15)  # Saturday 22:00
    assert t.prices_at(at("2026-03-07T23:00:00+00:00")) == (0.10, 0.15)  # Saturday 23:00
    assert t.prices_at(at("2026-03-08T04:00:00+00:00")) == (0.10, 0.15)  # Sunday 04:00
    assert t.prices_at(at("2026-03-08T05:00:00+00:00")) == (0.30, 0.15)  # Sunday 05:00
    # Sunday night is not Saturday's period; Friday night neither.
    assert t.prices_at(at("2026-03-08T23:00:00+00:00"))[0] == 0.30
    assert t.prices_at(at("2026-03-07T02:00:00+00:00"))[0] == 0.30


def test_local_time_on_the_day_the_clocks_go_forward():
    # Saturday 28 March 23:00 GMT to Sunday 29 March 05:00 BST is 5 UTC hours: 23:00-04:00 UTC.
    t = tariff(NIGHT)
    cheap = [
        h
        for h in range(20, 20 + 12)
        if t.prices_at(datetime(2026, 3, 28, tzinfo=UTC) + timedelta(hours=h))[0] == 0.10
    ]
    assert cheap == [23, 24, 25, 26, 27]  # UTC hours 23:00 .. 03:00 (04:00 UTC is 05:00 BST)


def test_on_the_day_the_clocks_go_back_local_time_repeats():
    autumn = night_with_import(0.3, {"days": "sun", "from": "01:00", "to": "02:00", "price": 0.05})
    t = tariff(autumn)
    # Sunday 25 October 2026: 01:00-02:00 local happens twice (BST at 00:00 UTC, GMT at 01:00 UTC).
    day = datetime(2026, 10, 25, tzinfo=UTC)
    prices = [t.prices_at(day + timedelta(hours=h))[0] for h in range(-1, 4)]
    assert prices == [0.3, 0.05, 0.05, 0.3, 0.3]


def test_an_hour_cut_by_a_half_hour_boundary_pays_the_time_weighted_mean():
    half = night_with_import(
        0.28, {"days": "mon-fri", "from": "00:30", "to": "05:30", "price": 0.09}
    )
    t = tariff(half)
    monday = at("2026-06-01T00:00:00+01:00")
    assert t.prices_at(monday)[0] == pytest.approx((0.28 + 0.09) / 2)
    assert t.prices_at(monday + timedelta(hours=1))[0] == 0.09
    assert t.prices_at(monday + timedelta(hours=5))[0] == pytest.approx((0.09 + 0.28) / 2)
    assert t.prices_at(monday + timedelta(hours=6))[0] == 0.28
    assert t.flat_prices(monday, monday + timedelta(days=1)) is None


def test_history_is_priced_at_the_tariff_valid_then():
    later = {
        **NIGHT,
        "valid_from": "2026-04-01",
        "import": {"default": 0.40},
        "export": {"default": 0},
    }
    t = tariff(NIGHT, later, legacy=0.25)
    assert t.prices_at(at("2026-02-28T12:00:00+00:00")) == (0.25, 0.0)  # before any: legacy
    assert t.prices_at(at("2026-03-31T12:00:00+01:00")) == (0.30, 0.15)
    # Local midnight of 1 April is 23:00 UTC on 31 March.
    assert t.prices_at(at("2026-03-31T23:00:00+00:00")) == (0.40, 0.0)
    assert t.import_price_per_kwh == 0.40 and t.current.valid_from.isoformat() == "2026-04-01"
    april = at("2026-04-02T00:00:00+01:00")
    assert t.flat_prices(april, april + timedelta(days=3)) == (0.40, 0.0)
    assert t.flat_prices(april - timedelta(days=2), april) is None


def test_a_price_series_wins_where_it_has_prices_and_half_hours_average():
    dynamic = {**NIGHT, "import": {"default": 0.30, "series": True}}
    t0 = at("2026-05-05T10:00:00+00:00")
    half = timedelta(minutes=30)
    series = PriceSeries((t0, t0 + half), (t0 + half, t0 + 2 * half), (0.10, 0.20))
    t = tariff(dynamic, series={"import": series})
    assert t.prices_at(t0)[0] == pytest.approx(0.15)
    assert t.prices_at(t0 + timedelta(hours=1))[0] == 0.30  # no price imported: the default


def test_no_plan_keeps_the_legacy_flat_price():
    t = tariff()
    assert t.plans == () and t.prices_at(NOW) == (0.25, 0.0)
    assert "export is not credited" in t.describe()


def test_days_are_read_as_written():
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("sat,sun") == frozenset({5, 6})
    assert parse_days("all") == frozenset(range(7))
    with pytest.raises(ValueError):
        parse_days("weekdays")


def test_every_problem_of_a_bad_tariff_is_named():
    bad = {
        "currency": "pounds",
        "valid_from": "2026-13-01",
        "import": {"default": -1, "periods": [{"days": "mon", "from": "25:00", "to": "05:00"}]},
        "tax_percent": 120,
        "colour": "red",
    }
    with pytest.raises(TariffError) as caught:
        validate_tariff(bad)
    fields = {d["field"] for d in caught.value.details}
    assert fields == {
        "currency",
        "valid_from",
        "import.default",
        "import.periods[0].from",
        "import.periods[0].price",
        "tax_percent",
        "colour",
    }
    assert "currency: must be a three-letter currency code" in str(caught.value)


def test_the_described_rule_names_the_periods_the_standing_charge_and_tax():
    full = dict(NIGHT, standing_charge_per_day=0.6, tax_percent=5)
    text = tariff(full).describe()
    # Prices and money as every page writes them ("£0.15/kWh", not "0.15 GBP/kWh").
    assert "£0.10/kWh sat 23:00-05:00" in text and "minus grid export at £0.15/kWh" in text
    assert "standing charge £0.60/day and tax 5 % added on bills only" in text


def test_the_tariff_module_imports_first_in_a_fresh_process():
    """The CLI imports it before the read layer: no import cycle between them."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import energy_core.tariffs"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


times = st.integers(min_value=0, max_value=24 * 4).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")
periods = st.lists(
    st.fixed_dictionaries(
        {
            "days": st.sampled_from(["mon-fri", "sat,sun", "fri-mon", "all", "wed"]),
            "from": times,
            "to": times,
            "price": st.sampled_from([0.05, 0.09, 0.4]),
        }
    ).filter(lambda p: p["from"] != p["to"] and "24:00" not in (p["from"],)),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    periods=periods,
    zone=st.sampled_from(["Europe/London", "Asia/Kolkata", "America/New_York", "UTC"]),
    hours=st.integers(min_value=0, max_value=24 * 9),
)
def test_an_hours_price_is_the_mean_of_its_minutes(periods, zone, hours):
    """Against brute force: the price of every minute of the hour, averaged. The hours run over
    the week the clocks go forward in Europe and the next days; Kolkata's hours are cut at :30."""
    spec = validate_tariff(
        {
            "currency": "EUR",
            "valid_from": "2026-03-27",
            "import": {"default": 0.3, "periods": periods},
        }
    )
    user = User(email="a@example.com", password_hash="x", timezone=zone, price_per_kwh=0.2)
    t = build_tariff(user, [spec], now=NOW)
    hour = datetime(2026, 3, 26, tzinfo=UTC) + timedelta(hours=hours)
    by_minute = [t._prices_at_instant(hour + timedelta(minutes=m))[0] for m in range(60)]
    assert t.prices_at(hour)[0] == pytest.approx(sum(by_minute) / 60, abs=1e-12)


def test_export_has_its_own_time_of_use_and_series():
    peak = {
        **NIGHT,
        "export": {
            "default": 0.05,
            "periods": [{"days": "all", "from": "16:00", "to": "19:00", "price": 0.25}],
            "series": True,
        },
    }
    t0 = at("2026-06-02T10:00:00+00:00")
    series = PriceSeries((t0,), (t0 + timedelta(hours=1),), (-0.02,))
    t = tariff(peak, series={"export": series})
    assert t.prices_at(at("2026-06-02T16:00:00+01:00")) == (0.30, 0.25)
    assert t.prices_at(at("2026-06-02T19:00:00+01:00")) == (0.30, 0.05)
    assert t.prices_at(t0) == (0.30, -0.02)  # an imported price wins, negative ones too
    assert t.cost(1000, 2000, hour_start=t0) == pytest.approx(0.30 + 0.04)

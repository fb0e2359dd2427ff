"""Costs under a stored tariff, on SQLite and PostgreSQL: a known London day (the clocks go
forward) under a time-of-use period crossing midnight, with export and a standing charge, by hand;
a tariff change re-prices only the days it covers; the CLI; price series from CSV."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_cli.main import main
from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import day_period, load_household, read_series
from energy_core.stats.bills import bill_for
from energy_core.tariffs import TariffError, import_prices, list_plans, set_tariff
from tests.tariffs.household import DST_DAY, NOW, TOU, seed


def day_cost(engine, user_id: int, day: date) -> tuple[float, dict]:
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user_id)
        period = day_period(day, now=NOW)
        total = read_series(s, household.select(period)).total
        devices = read_series(s, household.select(period, granularity="total"))
        per_device = {d: figs[0].cost_value for d, figs in devices.by_device.items()}
    return total.cost_value, per_device


@pytest.mark.parametrize("rolled", [False, True])
def test_a_known_day_under_time_of_use_with_export_by_hand(engine, rolled):
    user_id, _ = seed(engine)
    if rolled:
        rollup_dirty_hours(engine)
    before_28, _ = day_cost(engine, user_id, date(2026, 3, 28))
    assert before_28 == pytest.approx(24 * 0.25)  # the legacy flat price
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
    cost, per_device = day_cost(engine, user_id, DST_DAY)
    # 23 kWh of heating; 2 of its hours are covered by solar, which exports 2 kWh. Saturday's
    # cheap period runs to 05:30 BST on Sunday = 04:30 UTC: 4.5 kWh at 0.10, 16.5 kWh at 0.30.
    assert cost == pytest.approx(4.5 * 0.10 + 16.5 * 0.30 - 2 * 0.15)
    # Each device on its own hourly net: the heater buys all 23 kWh, solar exports 4 kWh.
    assert per_device["heater"] == pytest.approx(4.5 * 0.10 + 18.5 * 0.30)
    assert per_device["solar"] == pytest.approx(-4 * 0.15)
    # The day before the tariff is valid keeps its price.
    assert day_cost(engine, user_id, date(2026, 3, 28))[0] == pytest.approx(before_28)
    with session_scope(engine, read_only=True) as s:
        bill = bill_for(s, load_household(s, user_id=user_id), DST_DAY, DST_DAY, now=NOW)
    assert bill.energy == pytest.approx(5.10)
    assert bill.standing == pytest.approx(0.60)
    assert bill.tax == pytest.approx(0.05 * 5.70)
    assert bill.total == pytest.approx(5.70 * 1.05)


def test_a_tariff_change_reprices_only_the_days_it_covers(engine):
    user_id, _ = seed(engine)
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=dict(TOU, valid_from="2026-03-28"))
    first = {d: day_cost(engine, user_id, d)[0] for d in (date(2026, 3, 28), DST_DAY)}
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document={**TOU, "import": {"default": 0.5}})
    after = {d: day_cost(engine, user_id, d)[0] for d in (date(2026, 3, 28), DST_DAY)}
    assert after[date(2026, 3, 28)] == pytest.approx(first[date(2026, 3, 28)])
    assert after[DST_DAY] == pytest.approx(21 * 0.5 - 2 * 0.15)
    with session_scope(engine, read_only=True) as s:
        assert [p["valid_from"] for p in list_plans(s, user_id=user_id)] == [
            "2026-03-28",
            "2026-03-29",
        ]


def test_a_bad_tariff_changes_nothing(engine):
    user_id, _ = seed(engine)
    with session_scope(engine) as s:
        with pytest.raises(TariffError):
            set_tariff(s, user_id=user_id, document={**TOU, "import": {"default": "cheap"}})
    with session_scope(engine, read_only=True) as s:
        assert list_plans(s, user_id=user_id) == []


def test_an_imported_half_hourly_series_prices_the_hours(engine):
    user_id, _ = seed(engine)
    rollup_dirty_hours(engine)
    rows = ["valid_from,valid_to,value_inc_vat"]
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)
    for i in range(46):  # 23 hours of half-hourly prices: 0.10, 0.20, 0.10, 0.20, ...
        a = start + timedelta(minutes=30 * i)
        b = a + timedelta(minutes=30)
        rows.append(f"{a.isoformat()},{b.isoformat()},{0.10 if i % 2 == 0 else 0.20}")
    dynamic = {**TOU, "import": {"default": 0.30, "series": True}}
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=dynamic)
        assert import_prices(s, user_id=user_id, text="\n".join(rows)) == 46
    cost, _ = day_cost(engine, user_id, DST_DAY)
    assert cost == pytest.approx(21 * 0.15 - 2 * 0.15)
    with session_scope(engine) as s, pytest.raises(TariffError, match="no UTC offset"):
        import_prices(s, user_id=user_id, text="start,price\n2026-03-29T00:00:00,0.1\n")


def test_a_day_of_a_year_of_prices_reads_only_the_prices_around_that_day(engine):
    """A dynamic tariff's year of half-hourly prices: costing the clocks-forward day reads the
    prices of that day and the hour on either side, once, and costs it as by hand."""
    user_id, _ = seed(engine)
    rollup_dirty_hours(engine)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    rows = ["start,price"]
    for i in range(365 * 48):  # 0.10 on the hour's first half, 0.20 on its second
        at = first + timedelta(minutes=30 * i)
        rows.append(f"{at.isoformat()},{0.10 if i % 2 == 0 else 0.20}")
    dynamic = {**TOU, "import": {"default": 0.30, "series": True}}
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=dynamic)
        assert import_prices(s, user_id=user_id, text="\n".join(rows)) == 365 * 48
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user_id)
        total = read_series(s, household.select(day_period(DST_DAY, now=NOW))).total
        prices = household.tariff.import_series
        # The 23-hour day from 29 March 00:00 UTC and an hour either side: 25 hours.
        assert (prices.fetches, prices.held) == (1, 50)
        # Every hour at the mean of its two half-hours: 21 kWh bought at 0.15, 2 sold at 0.15.
        assert total.cost_value == pytest.approx(21 * 0.15 - 2 * 0.15)
        # A later read of a day inside what is loaded reads nothing more.
        read_series(s, household.select(day_period(DST_DAY, now=NOW), granularity="hour"))
        assert prices.fetches == 1
        # An instant far from the loaded window reads a week from it: the price it falls in
        # and the 7 x 48 starting in the week after.
        assert prices.at(datetime(2026, 7, 1, 0, 10, tzinfo=UTC)) == pytest.approx(0.10)
        assert (prices.fetches, prices.held) == (2, 50 + 1 + 7 * 48)


def test_the_cli_sets_shows_and_explains(engine, tmp_path, capsys):
    _, email = seed(engine)
    path = tmp_path / "tariff.json"
    path.write_text(json.dumps(TOU))
    assert main(["tariffs", "set", "--user", email, "--file", str(path)]) == 0
    assert "valid from 2026-03-29" in capsys.readouterr().out
    assert main(["tariffs", "show", "--user", email, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["tariffs"][0]["import"]["periods"][0]["from"] == "23:30"
    assert shown["legacy"] == {"currency": "GBP", "price_per_kwh": 0.25}
    prices = tmp_path / "prices.csv"
    prices.write_text("start,price\n2026-03-29T00:00:00Z,0.12\n2026-03-29T00:30:00Z,0.14\n")
    argv = ["tariffs", "prices", "--user", email, "--file", str(prices), "--direction", "export"]
    assert main(argv) == 0
    assert "2 export prices stored" in capsys.readouterr().out
    prices.write_text("start,price\n2026-03-29T00:00:00Z,cheap\n")
    assert main(argv) == 2
    assert "line 2" in capsys.readouterr().err
    argv = ["tariffs", "delete", "--user", email, "--valid-from", "2026-03-29"]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "has no tariff valid from 2026-03-29" in capsys.readouterr().err
    assert main(["tariffs", "show", "--user", email]) == 0
    assert "No tariff: a flat £0.25/kWh" in capsys.readouterr().out
    path.write_text(json.dumps(dict(TOU, currency="pounds")))
    assert main(["tariffs", "set", "--user", email, "--file", str(path)]) == 2
    assert "currency: must be a three-letter currency code" in capsys.readouterr().err


def test_the_bill_its_projection_the_budget_and_a_what_if(engine, tmp_path, capsys):
    _, email = seed(engine)
    path = tmp_path / "tariff.json"
    path.write_text(json.dumps(TOU))
    assert main(["tariffs", "set", "--user", email, "--file", str(path)]) == 0
    assert main(["tariffs", "budget", "--user", email, "--amount", "10"]) == 0
    capsys.readouterr()
    now = "2026-04-02T12:00:00+01:00"
    assert main(["tariffs", "bill", "--user", email, "--json", "--now", now]) == 0
    bill = json.loads(capsys.readouterr().out)
    # April so far: no readings, two standing charges, 5 % tax on them.
    assert bill["current"]["first_day"] == "2026-04-01" and bill["current"]["days_so_far"] == 2
    assert bill["current"]["total"] == pytest.approx(2 * 0.6 * 1.05)
    # One whole day so far cost nothing but its standing charge: 30 of them, plus tax.
    assert bill["projected_total"] == pytest.approx(30 * 0.6 * 1.05)
    # March: 25 kWh before the tariff at the flat 0.25 (no standing charge, no tax); 29 March
    # as by hand; the heater's last reading holds 20 minutes into 30 March (0.30); three
    # standing charges; tax on all of it from 29 March on.
    from_29 = 5.10 + 0.1 + 3 * 0.6
    assert bill["last"]["total"] == pytest.approx(25 * 0.25 + from_29 * 1.05)
    # 1-2 April 2025: no readings, no tariff then (the flat price, no standing charge).
    assert bill["same_days_last_year"]["first_day"] == "2025-04-01"
    assert bill["same_days_last_year"]["last_day"] == "2025-04-02"
    assert bill["same_days_last_year"]["total"] == 0
    # ... which is "no data", never a zero bill, wherever it is shown.
    assert bill["same_days_last_year"]["has_readings"] is False
    assert bill["last"]["has_readings"] is True
    assert bill["budget"] == 10 and bill["budget_verdict"] == "on course to exceed the budget"
    assert main(["tariffs", "bill", "--user", email, "--now", now]) == 0
    said = capsys.readouterr().out
    assert "Same days last year (2025-04-01 to 2025-04-02): no data (no readings)" in said
    assert "Last period (2026-03-01 to 2026-03-31): £13.60" in said

    flat = tmp_path / "flat.json"
    flat.write_text(
        json.dumps({"currency": "GBP", "valid_from": "2020-01-01", "import": {"default": 0.2}})
    )
    argv = ["tariffs", "compare", "--user", email, "--file", str(flat), "--months", "1"]
    assert main([*argv, "--json", "--now", now]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["first_day"] == "2026-03-02" and compared["last_day"] == "2026-04-01"
    # All 46 1/3 kWh bought at 0.20, export not credited; the stored tariff as billed above.
    assert compared["other"]["total"] == pytest.approx((46 + 1 / 3) * 0.2)
    assert compared["base"]["total"] == pytest.approx(25 * 0.25 + (5.10 + 0.1 + 4 * 0.6) * 1.05)
    assert compared["saving"] == pytest.approx(
        compared["base"]["total"] - compared["other"]["total"]
    )
    assert main([*argv, "--now", now]) == 0
    assert "would have saved" in capsys.readouterr().out
    assert main(["tariffs", "budget", "--user", email, "--amount", "-5"]) == 2


def test_deleting_a_user_deletes_their_tariffs_and_prices(engine):
    from sqlmodel import func, select

    from energy_core.accounts import delete_user
    from energy_core.models import TariffPlanRow, TariffPrice

    user_id, _ = seed(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
        import_prices(s, user_id=user_id, text="start,price\n2026-03-29T00:00:00Z,0.1\n")
    with session_scope(engine) as s:
        delete_user(s, user_id=user_id)
    with session_scope(engine, read_only=True) as s:
        for table in (TariffPlanRow, TariffPrice):
            assert s.exec(select(func.count()).select_from(table)).one() == 0

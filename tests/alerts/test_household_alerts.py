"""Household alerts, on SQLite and PostgreSQL: the always-on load rising week over week, the
bill on course to exceed the budget, a tariff's cheap period starting (opt-in); each with its
figures, none on steady data, each resolved when its condition clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.tariffs import set_budget, set_tariff
from tests.alerts.household import (
    NOW,
    alerts,
    evaluate,
    figures_of,
    seed,
    set_household_alerts,
    steady,
)
from tests.factories import time_of_use

SWITCH = datetime(2026, 11, 23, tzinfo=UTC)  # Monday, a week before NOW's day


def pump(t: datetime) -> float:
    return 50.0 if t < SWITCH else 150.0


def test_the_always_on_load_rising_week_over_week(engine):
    user_id = seed(engine, {"pond-pump": (pump, SWITCH - timedelta(days=8), NOW)})
    done = evaluate(engine, user_id)
    assert done.daily is True
    [alert] = alerts(engine, user_id)
    assert alert["kind"] == "baseload_rising"
    assert alert["title"] == "Always-on load up 100 W"
    assert alert["explanation"] == (
        "The household's baseload (always-on load) over the last 7 whole days (Mon 23 Nov - "
        "Sun 29 Nov 2026) is 150 W, up 100 W (+200%) from 50 W the 7 days before. Something new "
        "may be running all the time (a heater, a pump, a device that no longer sleeps)."
    )
    assert figures_of(alert) == {
        "Baseload, last 7 days": 150.0,
        "Baseload, 7 days before": 50.0,
        "Rise": 100.0,
    }
    # The daily rules run once per local day: later the same day nothing is re-read.
    assert evaluate(engine, user_id, NOW + timedelta(hours=3)).daily is False


def test_a_steady_always_on_load_gives_no_alert(engine):
    user_id = seed(engine, {"pond-pump": (steady(150.0), SWITCH - timedelta(days=8), NOW)})
    evaluate(engine, user_id)
    assert alerts(engine, user_id) == []


def heater_month(engine, budget: float) -> int:
    """1 kW since 1 November at the flat 0.30 EUR/kWh: 7.20 EUR a day."""
    user_id = seed(engine, {"heater": (steady(1000.0), datetime(2026, 11, 1, tzinfo=UTC), NOW)})
    with session_scope(engine) as s:
        set_budget(s, user_id=user_id, amount=budget)
    return user_id


def test_a_bill_on_course_to_exceed_the_budget(engine):
    user_id = heater_month(engine, 215.0)
    evaluate(engine, user_id)
    [alert] = alerts(engine, user_id)
    assert alert["kind"] == "budget"
    assert alert["key"] == "budget:2026-11-01"
    assert alert["title"] == "Budget about to be exceeded"
    # 29 whole days x 7.20 = 208.80, plus 10 h 05 min today (3.025): 211.825 so far; the
    # projection is 7.20 a day x 30 days = 216.00.
    assert alert["explanation"].startswith(
        "The bill of this billing period (1 Nov to 30 Nov) is projected at €216.00, above the "
        "budget of €215.00: €211.82 so far (99% used after 30 of 30 days). Projection: "
    )
    figures = figures_of(alert)
    assert figures["Bill so far"] == pytest.approx(211.825)
    assert figures["Projected bill"] == pytest.approx(216.0)
    assert figures["Budget"] == 215.0
    chart = alert["evidence"]["chart"]
    assert (chart["mark"], chart["reference"]) == ("bar", {"label": "Budget", "value": 215.0})
    assert [p["label"] for p in chart["points"]][:2] == ["Sun 1 Nov", "Mon 2 Nov"]
    # The running energy cost of the period, day by day: 7.20 a day, today's 10 h 05 min last.
    assert [p["value"] for p in chart["points"]][:2] == pytest.approx([7.2, 14.4])
    assert chart["points"][-1]["value"] == pytest.approx(211.825)


def test_a_bill_within_budget_gives_no_alert_and_a_new_period_resolves_it(engine):
    within = heater_month(engine, 300.0)
    evaluate(engine, within)
    assert alerts(engine, within) == []
    over = heater_month(engine, 215.0)
    evaluate(engine, over)
    with session_scope(engine) as s:
        set_budget(s, user_id=over, amount=500.0)
    tomorrow = NOW + timedelta(days=1)
    done = evaluate(engine, over, tomorrow)
    assert done.daily is True
    [budget] = [a for a in alerts(engine, over, now=tomorrow) if a["kind"] == "budget"]
    assert done.resolved == [budget["id"]]
    # (The heater's readings stop at NOW: by tomorrow it is offline, which is another alert.)
    assert [a["kind"] for a in alerts(engine, over, state="open", now=tomorrow)] == ["offline"]


TOU = time_of_use(valid_from="2026-11-01", default=0.28, cheap=("mon-fri", "00:30", "05:30", 0.09))


def test_the_cheap_period_alert_is_opt_in_and_ends_with_the_period(engine):
    night = NOW.replace(hour=1, minute=0)
    user_id = seed(engine, {"heater": (steady(100.0), night - timedelta(days=1), night)})
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
    evaluate(engine, user_id, night)
    assert alerts(engine, user_id, now=night) == []
    set_household_alerts(engine, user_id, cheap_period=True)
    evaluate(engine, user_id, night + timedelta(minutes=1))
    [alert] = alerts(engine, user_id, now=night)
    assert alert["kind"] == "cheap_period"
    assert alert["explanation"] == (
        "The cheap period of your tariff is on: mon-fri 00:30-05:30 at £0.09/kWh instead of "
        "£0.28/kWh. A good time for the washing machine, the dishwasher or charging."
    )
    prices = [p["value"] for p in alert["evidence"]["chart"]["points"]]
    # The hours that 00:30 and 05:30 cut take the time-weighted mean of their prices.
    assert prices[:7] == pytest.approx([0.185, 0.09, 0.09, 0.09, 0.09, 0.185, 0.28])
    done = evaluate(engine, user_id, night.replace(hour=6))
    assert done.resolved == [alert["id"]]

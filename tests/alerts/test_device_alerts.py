"""Unusual use and left on, on SQLite and PostgreSQL: each fires on constructed data with the
exact figures of its explanation, and stays quiet on normal data, without enough history, and
for a device that opted out."""

from __future__ import annotations

from datetime import timedelta

from tests.alerts.household import (
    NOW,
    Power,
    alerts,
    evaluate,
    figures_of,
    heater,
    seed,
    set_device_alerts,
    tv,
    weeks_before,
)

UNUSUAL_TEXT = (
    "Living Tv's average power on Monday 30 Nov, 09:00-10:00, was 1.00 kW; on Mondays at that "
    "hour it usually averages 100 W (the median of the last 8 weeks; median absolute deviation "
    "7.5 W). That is 900 W above usual (sensitivity: normal)."
)


def tv_household(engine, last_hour_w: float, *, weeks: int = 9) -> int:
    return seed(engine, {"living-tv": (tv(last_hour_w), weeks_before(weeks), NOW)})


def test_an_unusual_hour_fires_with_its_median_and_mad(engine):
    user_id = tv_household(engine, 1000.0)
    done = evaluate(engine, user_id)
    assert done.hourly is True
    [alert] = alerts(engine, user_id)
    assert alert["kind"] == "unusual_use"
    assert alert["device_id"] == "living-tv"
    assert alert["title"] == "Unusual use: Living Tv, Monday 09:00-10:00"
    assert alert["explanation"] == UNUSUAL_TEXT
    assert figures_of(alert) == {
        "Average power": 1000.0,
        "Usual (median)": 100.0,
        "Median absolute deviation": 7.5,
        "Weeks compared": 8,
    }
    points = alert["evidence"]["chart"]["points"]
    assert len(points) == 24
    assert points[-1] == {
        "at": "2026-11-30T09:00:00+00:00",
        "label": None,
        "value": 1000.0,
        "usual": 100.0,
    }


def test_a_normal_hour_and_a_small_change_do_not_fire(engine):
    normal = tv_household(engine, 100.0)
    evaluate(engine, normal)
    assert alerts(engine, normal) == []
    # 150 W is 50 W above usual: 4.5 spreads (1.4826 x 7.5 W), below normal's 5.
    slightly = tv_household(engine, 150.0)
    evaluate(engine, slightly)
    assert alerts(engine, slightly) == []


def test_high_sensitivity_fires_on_a_smaller_change(engine):
    user_id = tv_household(engine, 150.0)
    set_device_alerts(engine, user_id, "living-tv", sensitivity="high")
    evaluate(engine, user_id)
    [alert] = alerts(engine, user_id)
    assert alert["evidence"]["figures"][0]["value"] == 150.0
    assert alert["explanation"].endswith("That is 50 W above usual (sensitivity: high).")


def test_an_opted_out_device_and_too_little_history_give_no_alert(engine):
    opted_out = tv_household(engine, 1000.0)
    set_device_alerts(engine, opted_out, "living-tv", unusual_use=False)
    evaluate(engine, opted_out)
    assert alerts(engine, opted_out) == []
    # Three past Mondays at 09:00 are not enough (four are needed).
    young = tv_household(engine, 1000.0, weeks=3)
    evaluate(engine, young)
    assert alerts(engine, young) == []


def test_the_hourly_rules_run_once_per_hour_and_resolve_the_next_hour(engine):
    user_id = tv_household(engine, 1000.0)
    evaluate(engine, user_id)
    assert evaluate(engine, user_id, NOW + timedelta(minutes=20)).hourly is False
    [alert] = alerts(engine, user_id, state="open")
    # 10:00-11:00 is a normal hour (the readings stop at 10:00; it is not covered): resolved.
    later = evaluate(engine, user_id, NOW + timedelta(hours=1))
    assert later.hourly is True
    assert later.resolved == [alert["id"]]
    assert alerts(engine, user_id, state="open", now=NOW + timedelta(hours=1)) == []


def test_a_heater_on_far_beyond_its_usual_run_is_left_on(engine):
    on_since = NOW.replace(hour=4, minute=0)
    user_id = seed(engine, {"hall-heater": (heater(on_since), weeks_before(3), NOW)})
    evaluate(engine, user_id)
    [alert] = alerts(engine, user_id)
    assert alert["kind"] == "left_on"
    assert alert["title"] == "Hall Heater left on for 6 hours"
    assert alert["explanation"] == (
        "Hall Heater has been on (average power above the 5 W standby threshold) for 6 hours in "
        "a row, since Mon 30 Nov 04:00; its usual run is 2 hours (the median of its last 21 "
        "runs). Was it left on?"
    )
    assert figures_of(alert) == {
        "Hours on in a row": 6,
        "Usual run (median)": 2,
        "Runs compared": 21,
        "Average power now": 2000.0,
    }


def test_a_heater_on_its_usual_two_hours_and_an_always_on_device_are_not_left_on(engine):
    # 20:05: the heater's daily run of 18:00-20:00 has just ended; the TV runs all the time.
    at = NOW.replace(hour=20, minute=5)
    user_id = seed(
        engine,
        {
            "hall-heater": (heater(None), weeks_before(3), at),
            "living-tv": (tv(100.0), weeks_before(3), at),
        },
    )
    evaluate(engine, user_id, at)
    assert alerts(engine, user_id, now=at) == []


def fridge(stopped_since) -> Power:  # noqa: ANN001 - a datetime
    """40 W on average, until its compressor stops: 0 W while it still reports."""
    return lambda t: 0.0 if t >= stopped_since else 40.0


def test_a_fridge_that_stops_but_still_reports_is_unusual_below_usual(engine):
    stopped = NOW.replace(hour=9, minute=0)
    user_id = seed(engine, {"kitchen-fridge": (fridge(stopped), weeks_before(9), NOW)})
    evaluate(engine, user_id)
    [alert] = alerts(engine, user_id)
    assert (alert["kind"], alert["device_id"]) == ("unusual_use", "kitchen-fridge")
    assert alert["explanation"] == (
        "Kitchen Fridge's average power on Monday 30 Nov, 09:00-10:00, was 0 W; on Mondays at "
        "that hour it usually averages 40 W (the median of the last 8 weeks; median absolute "
        "deviation 0 W). That is 40 W below usual (sensitivity: normal)."
    )

"""A device going offline, on SQLite and PostgreSQL: the alert with its exact figures, one open
alert however often it is evaluated, resolution when a reading arrives, the cooldown, and
acknowledging and muting (only one's own alerts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from energy_core.alerts import (
    acknowledge,
    mute,
    unmute,
)
from energy_core.db import session_scope
from energy_core.errors import NotFoundError
from energy_core.models import Device, User
from tests.alerts.household import (
    NOW,
    alerts,
    evaluate,
    figures_of,
    seed,
    set_device_alerts,
    steady,
)
from tests.factories import add_readings

MINUTE = timedelta(minutes=1)
OFFLINE_TEXT = (
    "Kitchen Fridge has sent no reading for 2 h 05 min: last seen 2026-11-30 08:00 UTC. It is "
    "not online (its latest reading no longer holds: it usually reports every 1,800 s, its max "
    "gap is 3600 s) and counts as offline after 90 minutes without a reading. Check its power "
    "and network."
)


def fridge_household(engine, *, email: str | None = None) -> int:
    """A fridge read every 30 minutes from yesterday 10:00 until 08:00 today."""
    start = NOW.replace(minute=0) - timedelta(days=1)
    return seed(
        engine, {"kitchen-fridge": (steady(80.0), start, NOW - timedelta(hours=2))}, email=email
    )


def post(engine, user_id: int, at) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        device = s.exec(select(Device).where(Device.user_id == user_id)).one()
        add_readings(s, user=user, device=device, points=[(at, 80.0)])


def test_a_silent_device_is_offline_after_three_of_its_usual_intervals(engine):
    user_id = fridge_household(engine)
    # 60 minutes of silence: past its max gap (60 min), not past 3 x 30 min.
    evaluate(engine, user_id, NOW - timedelta(minutes=65))
    assert alerts(engine, user_id) == []
    evaluate(engine, user_id)
    [alert] = alerts(engine, user_id)
    assert (alert["kind"], alert["device_id"], alert["state"]) == (
        "offline",
        "kitchen-fridge",
        "open",
    )
    assert alert["title"] == "Kitchen Fridge is offline"
    assert alert["explanation"] == OFFLINE_TEXT
    assert figures_of(alert) == {
        "Last seen": "2026-11-30T08:00:00+00:00",
        "Minutes without a reading": 125,
        "Offline after": 90,
        "Usual reporting interval": 1800.0,
    }


def test_repeated_evaluation_keeps_one_open_alert_and_a_reading_resolves_it(engine):
    user_id = fridge_household(engine)
    for minutes in (0, 5, 10):
        evaluate(engine, user_id, NOW + minutes * MINUTE)
    [alert] = alerts(engine, user_id, now=NOW + 10 * MINUTE)
    assert alert["updated_at"] == (NOW + 10 * MINUTE).isoformat()
    assert "no reading for 2 h 15 min" in alert["explanation"]
    post(engine, user_id, NOW + 11 * MINUTE)
    done = evaluate(engine, user_id, NOW + 12 * MINUTE)
    assert done.resolved == [alert["id"]]
    [resolved] = alerts(engine, user_id, now=NOW + 12 * MINUTE)
    assert (resolved["state"], resolved["resolved_at"]) == (
        "resolved",
        (NOW + 12 * MINUTE).isoformat(),
    )


def test_a_device_change_sets_only_its_fields_and_none_restores_the_offline_default(engine):
    user_id = fridge_household(engine)

    def change(**fields) -> tuple[str, bool, int | None]:
        row = set_device_alerts(engine, user_id, "kitchen-fridge", **fields)
        return row["sensitivity"], row["unusual_use"], row["offline_minutes"]

    assert change(offline_minutes=5, sensitivity="high") == ("high", True, 5)
    assert change(unusual_use=False) == ("high", False, 5)
    assert change(sensitivity=None) == ("high", False, 5)
    assert change(offline_minutes=None) == ("high", False, None)


def test_the_same_condition_waits_for_its_cooldown(engine):
    user_id = fridge_household(engine)
    set_device_alerts(engine, user_id, "kitchen-fridge", offline_minutes=5)
    evaluate(engine, user_id)
    post(engine, user_id, NOW + MINUTE)
    evaluate(engine, user_id, NOW + 2 * MINUTE)  # resolved at 10:07
    # Silent again for 10 minutes (more than its 5), but within the 30-minute cooldown.
    evaluate(engine, user_id, NOW + 11 * MINUTE)
    assert alerts(engine, user_id, state="open", now=NOW + 11 * MINUTE) == []
    evaluate(engine, user_id, NOW + 33 * MINUTE)
    [again] = alerts(engine, user_id, state="open", now=NOW + 33 * MINUTE)
    assert "counts as offline after 5 minutes" in again["explanation"]
    assert len(alerts(engine, user_id, now=NOW + 33 * MINUTE)) == 2


def test_acknowledge_and_mute_only_ones_own_alerts(engine):
    user_id = fridge_household(engine)
    other = fridge_household(engine)
    evaluate(engine, user_id)
    evaluate(engine, other)
    [mine] = alerts(engine, user_id)
    [theirs] = alerts(engine, other)
    with session_scope(engine) as s:
        with pytest.raises(NotFoundError):
            acknowledge(s, user_id=user_id, alert_id=theirs["id"], now=NOW)
        acknowledge(s, user_id=user_id, alert_id=mine["id"], now=NOW)
    assert alerts(engine, user_id)[0]["state"] == "acknowledged"
    assert alerts(engine, other)[0]["state"] == "open"
    with session_scope(engine) as s:
        mute(s, user_id=user_id, alert_id=mine["id"], now=NOW, duration="forever")
    # The condition clears and comes back after the cooldown: muted, no new alert.
    post(engine, user_id, NOW + MINUTE)
    evaluate(engine, user_id, NOW + 2 * MINUTE)
    later = NOW + 4 * 60 * MINUTE
    evaluate(engine, user_id, later)
    assert alerts(engine, user_id, state="open", now=later) == []
    with session_scope(engine) as s:
        assert unmute(s, user_id=user_id, key="offline:kitchen-fridge") is True
    evaluate(engine, user_id, later + MINUTE)
    [again] = alerts(engine, user_id, state="open", now=later + MINUTE)
    assert (again["state"], again["muted"]) == ("open", False)

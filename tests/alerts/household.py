"""Synthetic households for the alert tests: devices whose power is a known function of time,
read every 30 minutes (max gap one hour, so every hour is covered whole), rolled up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from energy_core.alerts import (
    AlertSettingsUpdate,
    DeviceAlertSettingsUpdate,
    evaluate_household,
    list_alerts,
    set_device_alert_settings,
    set_household_alert_settings,
)
from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from tests.factories import add_readings, make_device, make_user

# A Monday, five minutes after the hour: the hour that just ended is Monday 09:00-10:00 UTC.
NOW = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
STEP = timedelta(minutes=30)
WEEK = timedelta(weeks=1)
# The device's power at Monday 09:00 in each of the 8 weeks before: median 100 W, MAD 7.5 W.
PAST_MONDAYS_9 = [100.0, 110.0, 90.0, 100.0, 120.0, 80.0, 100.0, 105.0]

Power = Callable[[datetime], float]


def steady(watts: float) -> Power:
    return lambda _t: watts


def tv(last_hour_w: float) -> Power:
    """100 W, except on Mondays 09:00-10:00: the week's value of ``PAST_MONDAYS_9``, and
    ``last_hour_w`` in the hour that just ended."""

    def power(t: datetime) -> float:
        if t.weekday() == 0 and t.hour == 9:
            weeks_back = (NOW - t) // WEEK
            return last_hour_w if weeks_back == 0 else PAST_MONDAYS_9[weeks_back - 1]
        return 100.0

    return power


def heater(on_since: datetime | None) -> Power:
    """2 kW from 18:00 to 20:00 every day, else off; on without a break from ``on_since``."""

    def power(t: datetime) -> float:
        if on_since is not None and t >= on_since:
            return 2000.0
        return 2000.0 if 18 <= t.hour < 20 else 0.0

    return power


def seed(
    engine,
    devices: dict[str, tuple[Power, datetime, datetime]],
    *,
    email: str | None = None,
    **user_kwargs,
) -> int:
    """A user with one device per entry: ``device_id -> (power, first reading, end)``; readings
    every 30 minutes from the first to before the end. Rolled up. Returns the user id."""
    with session_scope(engine) as s:
        user = make_user(s, email=email, **user_kwargs)
        for device_id, (power, start, end) in devices.items():
            device = make_device(s, user=user, device_id=device_id, max_gap_s=3600)
            points = []
            t = start
            while t < end:
                points.append((t, power(t)))
                t += STEP
            add_readings(s, user=user, device=device, points=points)
        user_id = user.id
    rollup_dirty_hours(engine)
    return user_id


def evaluate(engine, user_id: int, now: datetime = NOW):
    with session_scope(engine) as s:
        return evaluate_household(s, user_id=user_id, now=now)


def alerts(engine, user_id: int, state: str = "all", now: datetime = NOW) -> list[dict]:
    with session_scope(engine, read_only=True) as s:
        return list_alerts(s, user_id=user_id, state=state, now=now)


def set_device_alerts(engine, user_id: int, device_id: str, **changes) -> dict:
    """Apply ``changes`` (fields of ``DeviceAlertSettingsUpdate``) to one device's alert settings
    in a transaction of their own; the device's settings after it."""
    with session_scope(engine) as s:
        changed = DeviceAlertSettingsUpdate(**changes)
        row = set_device_alert_settings(s, user_id=user_id, device_id=device_id, changes=changed)
        return row.model_dump()


def set_household_alerts(engine, user_id: int, **changes) -> dict:
    """Apply ``changes`` (fields of ``AlertSettingsUpdate``) to the household's alert settings in
    a transaction of their own; its settings after it."""
    with session_scope(engine) as s:
        row = set_household_alert_settings(
            s, user_id=user_id, changes=AlertSettingsUpdate(**changes)
        )
        return row.model_dump()


def figures_of(alert: dict) -> dict:
    """An alert's evidence figures, label -> value."""
    return {f["label"]: f["value"] for f in alert["evidence"]["figures"]}


def assert_retried_with_backoff(deliver: Callable, engine) -> None:
    """``deliver`` fails twice then succeeds: tried again a minute after the first failure, two
    after the second, never earlier."""
    assert deliver(engine, now=NOW).retried == 1
    assert deliver(engine, now=NOW + timedelta(seconds=59)).retried == 0
    assert deliver(engine, now=NOW + timedelta(minutes=1)).retried == 1
    assert deliver(engine, now=NOW + timedelta(minutes=2)).sent == 0
    assert deliver(engine, now=NOW + timedelta(minutes=3)).sent == 1


def assert_given_up_after(deliver: Callable, engine, attempts: int) -> None:
    """``deliver`` always fails: retried an hour apart from NOW, failed at the last attempt."""
    at, outcomes = NOW, []
    for _ in range(attempts):
        run = deliver(engine, now=at)
        outcomes.append((run.retried, run.failed))
        at += timedelta(hours=1)
    assert outcomes == [(1, 0)] * (attempts - 1) + [(0, 1)]


def weeks_before(weeks: int) -> datetime:
    return NOW.replace(minute=0) - timedelta(weeks=weeks)

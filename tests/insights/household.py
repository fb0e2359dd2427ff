"""A constructed household for the weekly summary, every figure worked out by hand.

Europe/London (GMT in November), the flat price of the Account page (0.30 EUR per kWh, export not
credited), readings every 30 minutes (max gap 1 h), all ending at Mon 30 Nov 2026 00:00:

- Heater: 500 W in the week of 16 Nov (W47), 1000 W in the week of 23 Nov (W48);
- Fridge: 80 W in the week of 23 Nov 2025, then nothing until 100 W in W47 and W48;
- Solar (bidirectional): -2000 W from 12:00 to 13:00 every day of W47 and W48, 0 W otherwise;
- Kettle: 20 W from Tue 17 Nov (so it covers 6/7 of W47) to the end.

W48: consumption 168 + 16.8 + 3.36 = 188.16 kWh; generation 7 x 2 = 14 kWh; every hour but
12:00 imports 1.12 kWh (23 x 7 = 180.32 kWh) and 12:00 exports 0.88 kWh (6.16 kWh); cost
180.32 x 0.30 = 54.096. W47: consumption 84 + 16.8 + 2.88 = 103.68 kWh; import: Monday 23 x 0.6
= 13.8 (no kettle yet), Tuesday on 6 x 23 x 0.62 = 85.56, so 99.36 kWh; export 1.4 + 6 x 1.38 =
9.68 kWh; cost 29.808. Coverage of W47: (3 + 6/7) / 4 = 96 % (comparable); of the same dates in
2025: only the fridge, 1/4 = 25 % (not comparable). Always-on (10th percentile of the hourly
consumption): 1120 W in W48, 600 W in W47 (the 24 hours of Monday at 600 W are its lowest 14 %).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from tests.factories import add_readings, make_device, make_user

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
W47 = datetime(2026, 11, 16, tzinfo=UTC)
W48 = datetime(2026, 11, 23, tzinfo=UTC)
END = datetime(2026, 11, 30, tzinfo=UTC)
LAST_YEAR = datetime(2025, 11, 23, tzinfo=UTC)
STEP = timedelta(minutes=30)


def _points(start: datetime, end: datetime, power: Callable[[datetime], float]) -> list:
    points, t = [], start
    while t < end:
        points.append((t, power(t)))
        t += STEP
    return points


def seed_week_household(engine, *, email: str | None = None) -> int:  # noqa: ANN001
    with session_scope(engine) as s:
        user = make_user(s, email=email, timezone="Europe/London")
        heater = make_device(s, user=user, device_id="heater", max_gap_s=3600)
        fridge = make_device(s, user=user, device_id="fridge", max_gap_s=3600)
        solar = make_device(
            s, user=user, device_id="solar", type="solar", bidirectional=True, max_gap_s=3600
        )
        kettle = make_device(s, user=user, device_id="kettle", max_gap_s=3600)
        add_readings(
            s,
            user=user,
            device=heater,
            points=_points(W47, END, lambda t: 500.0 if t < W48 else 1000.0),
        )
        fridge_points = _points(LAST_YEAR, LAST_YEAR + timedelta(days=7), lambda t: 80.0)
        fridge_points += _points(W47, END, lambda t: 100.0)
        add_readings(s, user=user, device=fridge, points=fridge_points)
        add_readings(
            s,
            user=user,
            device=solar,
            points=_points(W47, END, lambda t: -2000.0 if t.hour == 12 else 0.0),
        )
        add_readings(
            s,
            user=user,
            device=kettle,
            points=_points(W47 + timedelta(days=1), END, lambda t: 20.0),
        )
        user_id = user.id
    rollup_dirty_hours(engine)
    return user_id

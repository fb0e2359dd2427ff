"""A London household with known readings around the day the clocks go forward, and a
time-of-use tariff with export and a standing charge, for the tariff and consistency tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_core.db import session_scope
from tests.factories import add_readings, make_device, make_user, time_of_use

LONDON = ZoneInfo("Europe/London")
DST_DAY = date(2026, 3, 29)  # 23 hours long in London
NOW = datetime(2026, 4, 2, 12, tzinfo=LONDON)
TOU = time_of_use(
    valid_from="2026-03-29",
    default=0.30,
    cheap=("sat", "23:30", "05:30", 0.10),
    export=0.15,
    standing_charge_per_day=0.60,
    tax_percent=5,
)


def seed(engine) -> tuple[int, str]:
    """A heater at 1 kW from 27 March 23:00 UTC to 29 March 23:00 UTC, and solar at -2 kW from
    12:00 to 14:00 UTC on the 29th (1 kW exported in each of those two hours)."""
    with session_scope(engine) as s:
        user = make_user(s, timezone="Europe/London", price_per_kwh=0.25, currency="GBP")
        heater = make_device(s, user=user, device_id="heater", max_gap_s=1200)
        solar = make_device(s, user=user, device_id="solar", bidirectional=True, max_gap_s=1200)
        start = datetime(2026, 3, 27, 23, tzinfo=UTC)
        steps = [start + timedelta(minutes=10 * i) for i in range(6 * 48 + 1)]
        add_readings(s, user=user, device=heater, points=[(t, 1000.0) for t in steps])
        sunny = (datetime(2026, 3, 29, 12, tzinfo=UTC), datetime(2026, 3, 29, 14, tzinfo=UTC))
        add_readings(
            s,
            user=user,
            device=solar,
            points=[(t, -2000.0 if sunny[0] <= t < sunny[1] else 0.0) for t in steps],
        )
        return user.id, user.email

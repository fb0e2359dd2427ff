"""Tiered import prices (docs/tariffs.md, "Tiers"): each hour's tier price from the household's
grid import counted since the start of its local day or billing period.

An hour's import takes the places ``[c, c + I)`` of the count, where ``c`` is what the household
imported earlier in the same day (or billing period, and under the same plan); the kWh of the
hour that no time-of-use period or series price covers pay the mean tier price over those
places, as the hourly aggregates assume use to be even within an hour. The count comes from the
household's hourly import read from the count's start, so a read of any range, a device's share
and the household's cost all price an hour alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import Session

from energy_core.stats.money import Plan, Tariff
from energy_core.stats.period import instant_period, local_midnight
from energy_core.stats.selection import Household
from energy_core.types import HOUR, floor_hour

# Hours per read of the count (a read allows up to 10,000 periods).
CHUNK_HOURS = 8_000


def count_start(tariff: Tariff, plan: Plan, instant: datetime) -> datetime:
    """Where the tier count that ``instant`` falls in starts: the local midnight of its day or
    the first day of its billing period, never before the plan's own start."""
    from energy_core.stats.bills import billing_period

    tz = tariff.tz
    day = instant.astimezone(tz).date()
    tiers = plan.import_rates.tiers
    if tiers is not None and tiers.per == "billing_period":
        day = billing_period(day, plan.billing_day)[0]
    return max(local_midnight(day, tz).astimezone(UTC), plan.starts_at)


def _without_tiers(tariff: Tariff) -> Tariff:
    plans = tuple(
        replace(p, import_rates=replace(p.import_rates, tiers=None)) for p in tariff.plans
    )
    return replace(tariff, plans=plans, _hours={}, tier_prices={}, tier_range=[])


def _worked_out(tariff: Tariff, start: datetime, end: datetime) -> bool:
    if not tariff.tier_range:
        return False
    lo, hi = tariff.tier_range
    return lo <= start and (end == hi or end <= floor_hour(hi))


def price_tiers(session: Session, household: Household, start: datetime, end: datetime) -> None:
    """Work out the tier price of every hour of ``[start, end)`` (kept on the tariff)."""
    tariff = household.tariff
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not tariff.has_tiers or _worked_out(tariff, start, end):
        return
    first = floor_hour(start)
    plan = tariff.plan_at(first)
    origin = count_start(tariff, plan, first) if plan is not None else first
    plain = replace(household, tariff=_without_tiers(tariff))
    imported: dict[datetime, float] = {}
    cursor = origin
    while cursor < end:
        until = min(cursor + CHUNK_HOURS * HOUR, end)
        period = instant_period(cursor, until, timezone=household.timezone)
        series = _hourly(session, plain, period)
        for (lo, _hi), figure in zip(series.periods, series.household, strict=True):
            hour = floor_hour(lo.astimezone(UTC))
            imported[hour] = imported.get(hour, 0.0) + figure.imported_wh
        cursor = until
    count, counting = 0.0, None
    hour = floor_hour(origin)
    while hour < end:
        plan = tariff.plan_at(hour)
        tiers = plan.import_rates.tiers if plan is not None else None
        kwh = imported.get(hour, 0.0) / 1000.0
        if tiers is not None:
            began = count_start(tariff, plan, hour)
            if began != counting:
                count, counting = 0.0, began
            tariff.tier_prices[hour] = tiers.mean_price(count, kwh, plan.import_rates.default)
            count += kwh
        hour += HOUR
    tariff.tier_range[:] = [origin, end]


def _hourly(session: Session, household: Household, period):  # noqa: ANN001, ANN202
    from energy_core.stats.series import read_series

    return read_series(session, household.select(period, granularity="hour"))


__all__ = ["count_start", "price_tiers"]

"""The weekly summary (docs/insights.md): one local week (Monday to Sunday) of a household, its
totals (consumption, generation, grid import and export, cost), the devices that moved most
against the week before and the same week a year earlier, the change of the always-on load, and
the alerts the week opened. Every figure is a metric of the read layer (docs/metrics.md): this
module only chooses the periods and orders what they say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from energy_core.alerts.store import list_alerts
from energy_core.errors import CoreError
from energy_core.stats import (
    Baseload,
    Change,
    Comparison,
    Household,
    Period,
    baseload,
    compare,
    read_series,
    week_period,
)

TOTALS = ("consumption_wh", "generation_wh", "import_wh", "export_wh", "cost")
TOTAL_TITLES = {
    "consumption_wh": "Consumption",
    "generation_wh": "Generation",
    "import_wh": "Grid import",
    "export_wh": "Grid export",
    "cost": "Cost",
}
MOVERS = 5
ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class WeekError(CoreError, ValueError):
    code = "invalid_week"


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www`` (``2026-W48``)."""
    match = ISO_WEEK.fullmatch(text.strip())
    if not match:
        raise WeekError(f"A week is written like 2026-W48, not {text!r}.")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise WeekError(f"{text} is not a week of that year.") from exc


@dataclass(frozen=True)
class Mover:
    """One device's week against a baseline week: ``metric`` is its generation for a generator,
    else its consumption; ``change`` says whether the two can be compared in percent."""

    device_id: str
    name: str
    metric: str
    change: Change


@dataclass(frozen=True)
class Total:
    metric: str
    title: str
    value: float | None
    previous: Change
    last_year: Change


@dataclass(frozen=True)
class WeeklySummary:
    week: str
    period: Period
    previous: Period
    last_year: Period
    currency: str
    totals: list[Total]
    movers_previous: list[Mover]
    movers_last_year: list[Mover]
    baseload: Baseload
    baseload_before: Baseload
    alerts: list[dict]

    @property
    def baseload_change_w(self) -> float | None:
        now, before = self.baseload.baseload_w, self.baseload_before.baseload_w
        return None if now is None or before is None else now - before


def default_week(now: datetime, household: Household) -> date:
    """The Monday of the last whole week before ``now`` in the household's timezone."""
    today = now.astimezone(household.tz).date()
    return today - timedelta(days=today.weekday() + 7)


def weekly_summary(
    session: Session, household: Household, *, now: datetime, monday: date | None = None
) -> WeeklySummary:
    """The summary of the household's local week starting ``monday`` (default: the last whole
    week)."""
    local_now = now.astimezone(household.tz)
    monday = monday or default_week(now, household)
    if monday.weekday() != 0:
        raise WeekError(f"A week starts on a Monday; {monday} is not one.")
    today = local_now.date()
    offset = (monday - (today - timedelta(days=today.weekday()))).days // 7
    period = week_period(today, offset=offset, now=local_now)
    iso_year, iso_week, _ = monday.isocalendar()
    selection = household.select(period)
    current = read_series(session, selection)
    previous, last_year = period.previous(), period.same_period_last_year()
    against_previous = compare(session, selection, previous, current=current)
    against_last_year = compare(session, selection, last_year, current=current)
    totals = [
        Total(
            metric,
            TOTAL_TITLES[metric],
            getattr(current.total, metric),
            against_previous[0].change(metric),
            against_last_year[0].change(metric),
        )
        for metric in TOTALS
    ]
    week_end = period.full_end
    opened = [
        a
        for a in list_alerts(session, user_id=household.user_id, state="all", now=now)
        if period.start <= datetime.fromisoformat(a["opened_at"]) < week_end
    ]
    return WeeklySummary(
        week=f"{iso_year}-W{iso_week:02d}",
        period=period,
        previous=previous,
        last_year=last_year,
        currency=household.currency,
        totals=totals,
        movers_previous=movers(household, against_previous[1:]),
        movers_last_year=movers(household, against_last_year[1:]),
        baseload=baseload(session, household, now=min(week_end, now)),
        baseload_before=baseload(session, household, now=period.start),
        alerts=list(reversed(opened)),
    )


def movers(household: Household, rows: list[Comparison], limit: int = MOVERS) -> list[Mover]:
    """The devices whose week changed most in kWh, largest first; a device without figures in
    one of the two weeks last, and grid meters (no consumption of their own) not at all."""
    found = []
    for row in rows:
        device = household.device(row.device_id)
        if device is None or device.is_grid_meter:
            continue
        metric = "generation_wh" if device.is_generator else "consumption_wh"
        found.append(Mover(device.device_id, device.name, metric, row.change(metric)))
    found.sort(key=lambda m: (m.change.delta is None, -abs(m.change.delta or 0.0), m.name))
    return found[:limit]


__all__ = [
    "TOTALS",
    "Mover",
    "Total",
    "WeekError",
    "WeeklySummary",
    "default_week",
    "movers",
    "parse_week",
    "weekly_summary",
]

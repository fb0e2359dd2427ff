"""History of a household: ranges in the user's calendar, comparisons with the previous period and
the same period last year, each device's share, cost, and the hour-of-day x weekday profile.

Every figure comes from ``energy_core.aggregates.energy_series``; this module only chooses the
ranges and combines its points.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from energy_core.aggregates import EnergyPoint, energy_series

PRESETS: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "Last 7 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_year": "This year",
    "custom": "Custom",
}


@dataclass(frozen=True)
class Range:
    """A half-open range ``[start, end)`` of aware instants, with how to shift it for comparisons:
    by whole local days, or by calendar months (which keep "the 1st to now" aligned)."""

    start: datetime
    end: datetime
    shift_days: int = 0
    shift_months: int = 0

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _add_months(moment: datetime, months: int) -> datetime:
    """The same local wall-clock time ``months`` later (or earlier); the day is clipped to the
    month's length, so 31 March minus one month is 28 (or 29) February."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _add_days(moment: datetime, days: int) -> datetime:
    # Wall-clock arithmetic: "yesterday at this time" across a DST change is still that time.
    return (moment.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=moment.tzinfo)


def preset_range(preset: str, *, now: datetime, timezone: str) -> Range:
    """The range a preset names, in ``timezone``. Ranges that include today end at ``now``."""
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    today = local_now.date()
    if preset == "today":
        return Range(_midnight(today, tz), local_now, shift_days=1)
    if preset == "yesterday":
        day = today - timedelta(days=1)
        return Range(_midnight(day, tz), _midnight(today, tz), shift_days=1)
    if preset == "last_7_days":
        return Range(_midnight(today - timedelta(days=6), tz), local_now, shift_days=7)
    if preset == "this_month":
        return Range(_midnight(today.replace(day=1), tz), local_now, shift_months=1)
    if preset == "last_month":
        first = today.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return Range(_midnight(previous, tz), _midnight(first, tz), shift_months=1)
    if preset == "this_year":
        return Range(_midnight(today.replace(month=1, day=1), tz), local_now, shift_months=12)
    raise ValueError(f"unknown range preset {preset!r}; choose one of {', '.join(PRESETS)}")


def custom_range(first_day: date, last_day: date, *, timezone: str) -> Range:
    """Whole local days from ``first_day`` to ``last_day`` inclusive."""
    if last_day < first_day:
        first_day, last_day = last_day, first_day
    tz = ZoneInfo(timezone)
    days = (last_day - first_day).days + 1
    return Range(
        _midnight(first_day, tz), _midnight(last_day + timedelta(days=1), tz), shift_days=days
    )


def shifted(period: Range, *, back: int = 1) -> Range:
    """``period`` moved back by its own length ``back`` times (days or months, as it says)."""
    if period.shift_months:
        months = -period.shift_months * back
        return Range(
            _add_months(period.start, months),
            _add_months(period.end, months),
            period.shift_days,
            period.shift_months,
        )
    days = -period.shift_days * back
    return Range(
        _add_days(period.start, days),
        _add_days(period.end, days),
        period.shift_days,
        period.shift_months,
    )


def previous_range(period: Range) -> Range:
    return shifted(period)


def same_range_last_year(period: Range) -> Range:
    return Range(
        _add_months(period.start, -12),
        _add_months(period.end, -12),
        period.shift_days,
        period.shift_months,
    )


def default_granularity(period: Range) -> str:
    if period.days <= 2:
        return "hour"
    if period.days <= 62:
        return "day"
    if period.days <= 190:
        return "week"
    return "month"


def cost(energy_wh: float, price_per_kwh: float) -> float:
    """Energy at a flat price. Generation (negative energy) comes out negative: a saving valued
    at the same price."""
    return energy_wh / 1000.0 * price_per_kwh


# --- totals and shares -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceTotal:
    device_id: str
    energy_wh: float
    covered_s: float
    span_s: float
    share: float | None

    @property
    def coverage(self) -> float:
        return min(self.covered_s / self.span_s, 1.0) if self.span_s else 0.0


def device_totals(points: Iterable[EnergyPoint]) -> list[DeviceTotal]:
    """Each device's energy over all the periods of a series, and its share: of the household's
    consumption for devices that used energy, of its generation for those that produced it.
    Largest consumer first, generators last."""
    sums: dict[str, list[float]] = {}
    for point in points:
        if point.device_id is None:
            continue
        entry = sums.setdefault(point.device_id, [0.0, 0.0, 0.0])
        entry[0] += point.energy_wh
        entry[1] += point.covered_s
        entry[2] += point.span_s
    used = sum(e for e, _, _ in sums.values() if e > 0)
    generated = sum(e for e, _, _ in sums.values() if e < 0)
    totals = []
    for device_id, (energy_wh, covered_s, span_s) in sums.items():
        whole = used if energy_wh > 0 else generated if energy_wh < 0 else 0.0
        totals.append(
            DeviceTotal(
                device_id=device_id,
                energy_wh=energy_wh,
                covered_s=covered_s,
                span_s=span_s,
                share=energy_wh / whole if whole else None,
            )
        )
    return sorted(totals, key=lambda t: (t.energy_wh < 0, -abs(t.energy_wh), t.device_id))


def household_series(points: Iterable[EnergyPoint]) -> list[EnergyPoint]:
    """The household's series from a per-device one, as ``energy_series(by_device=False)`` makes
    it (energy summed per period; coverage that of the average device; min/max unknown), without
    asking the database twice."""
    periods: dict[datetime, list[EnergyPoint]] = {}
    for point in points:
        periods.setdefault(point.period_start, []).append(point)
    household = []
    for start, members in periods.items():
        household.append(
            EnergyPoint(
                period_start=start,
                period_end=members[0].period_end,
                device_id=None,
                energy_wh=sum(p.energy_wh for p in members),
                covered_s=sum(p.covered_s for p in members) / len(members),
                span_s=members[0].span_s,
                sample_count=sum(p.sample_count for p in members),
            )
        )
    return household


@dataclass(frozen=True)
class Flows:
    """Energy of devices that used power and of those that generated it, kept apart: netting
    them would hide both."""

    used_wh: float
    generated_wh: float

    @property
    def net_wh(self) -> float:
        return self.used_wh - self.generated_wh


def flows(energies_wh: Iterable[float]) -> Flows:
    """Split per-device energies of one range into use and generation (a positive number)."""
    values = list(energies_wh)
    return Flows(
        used_wh=sum(v for v in values if v > 0),
        generated_wh=-sum(v for v in values if v < 0),
    )


# --- comparisons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    energy_wh: float
    coverage: float


@dataclass(frozen=True)
class Change:
    """``value`` against ``baseline``: the difference, and the relative change when the baseline
    has data to compare with (None when it has no coverage or no energy)."""

    delta_wh: float | None
    ratio: float | None


@dataclass(frozen=True)
class Comparison:
    """One device (``device_id``) or the household (None) over the range and its two baselines."""

    device_id: str | None
    current: Figures
    previous: Figures
    last_year: Figures

    @staticmethod
    def change(value: Figures, baseline: Figures) -> Change:
        if baseline.coverage <= 0:
            return Change(None, None)
        delta = value.energy_wh - baseline.energy_wh
        ratio = delta / abs(baseline.energy_wh) if baseline.energy_wh else None
        return Change(delta, ratio)

    @property
    def vs_previous(self) -> Change:
        return self.change(self.current, self.previous)

    @property
    def vs_last_year(self) -> Change:
        return self.change(self.current, self.last_year)


def _totals(points: Sequence[EnergyPoint]) -> dict[str, Figures]:
    return {
        point.device_id: Figures(point.energy_wh, point.coverage)
        for point in points
        if point.device_id is not None
    }


def compare_ranges(
    session: Session,
    *,
    user_id: int,
    current: Range,
    previous: Range,
    last_year: Range,
    device_ids: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    timezone: str | None = None,
) -> list[Comparison]:
    """The household first, then each device, over ``current`` and both baselines."""
    device_ids = list(device_ids) if device_ids is not None else None
    locations = list(locations) if locations is not None else None
    figures = [
        _totals(
            energy_series(
                session,
                user_id=user_id,
                start=period.start,
                end=period.end,
                granularity="total",
                device_ids=device_ids,
                locations=locations,
                timezone=timezone,
            )
        )
        for period in (current, previous, last_year)
    ]
    devices = list(figures[0])
    rows = [
        Comparison(device_id, figures[0][device_id], figures[1][device_id], figures[2][device_id])
        for device_id in devices
    ]

    def household(which: dict[str, Figures]) -> Figures:
        # As energy_series defines a household: energy summed, coverage the average device's.
        if not which:
            return Figures(0.0, 0.0)
        return Figures(
            sum(f.energy_wh for f in which.values()),
            sum(f.coverage for f in which.values()) / len(which),
        )

    return [Comparison(None, *(household(f) for f in figures)), *rows]


# --- hour of day x weekday ---------------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    """All hours of the range that fall on ``weekday`` (0 = Monday) at local ``hour``."""

    weekday: int
    hour: int
    energy_wh: float
    covered_s: float
    hours: int

    @property
    def avg_w(self) -> float | None:
        return self.energy_wh * 3600.0 / self.covered_s if self.covered_s else None


def weekday_hour_profile(
    session: Session,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    device_ids: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    timezone: str,
) -> list[HeatCell]:
    """Average household power for each local hour of each weekday over ``[start, end)``: the
    energy of those hours over the time readings covered them. Always 7 x 24 cells, Monday 00:00
    first."""
    points = energy_series(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity="hour",
        device_ids=list(device_ids) if device_ids is not None else None,
        locations=list(locations) if locations is not None else None,
        by_device=False,
        timezone=timezone,
    )
    cells = {(d, h): [0.0, 0.0, 0] for d in range(7) for h in range(24)}
    tz = ZoneInfo(timezone)
    for point in points:
        local = point.period_start.astimezone(tz)
        cell = cells[(local.weekday(), local.hour)]
        cell[0] += point.energy_wh
        cell[1] += point.covered_s
        cell[2] += 1
    return [
        HeatCell(weekday=d, hour=h, energy_wh=e, covered_s=c, hours=n)
        for (d, h), (e, c, n) in sorted(cells.items())
    ]

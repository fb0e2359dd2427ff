"""The named metrics that need more than one ``Figure``: comparisons between periods, shares of a
total, the hour-of-day and weekday profiles, the baseload (always-on), the peak and minimum with
when they were read, and the duty cycle. docs/metrics.md defines each in words.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from energy_core.power import Holding, holding
from energy_core.settings import Settings, get_settings
from energy_core.sql import reads as sql
from energy_core.stats.figures import Figure
from energy_core.stats.period import Period, add_days, local_midnight
from energy_core.stats.selection import DeviceRef, Household, Selection
from energy_core.stats.series import Series, read_series
from energy_core.types import HOUR, ceil_hour, floor_hour

# --- comparisons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A metric of the current period against a baseline period. ``delta`` and ``ratio`` are None
    where the two are not comparable (``reason`` says why) or the baseline is zero."""

    value: float | None
    baseline: float | None
    delta: float | None
    ratio: float | None
    comparable: bool
    reason: str | None


@dataclass(frozen=True)
class Comparison:
    """One device (``device_id``) or the selected devices together (None) over the current
    period and a baseline, with whether the two can be compared in percent."""

    device_id: str | None
    current: Figure
    baseline: Figure
    comparable: bool
    reason: str | None

    def change(self, metric: str) -> Change:
        """``metric`` is a property of ``Figure`` ("consumption_wh", "generation_wh", "cost"...)."""
        value, baseline = getattr(self.current, metric), getattr(self.baseline, metric)
        if not self.comparable or value is None or baseline is None:
            delta = value - baseline if value is not None and baseline is not None else None
            return Change(value, baseline, delta, None, False, self.reason)
        delta = value - baseline
        ratio = delta / abs(baseline) if baseline else None
        reason = None if baseline else "the baseline is zero"
        return Change(value, baseline, delta, ratio, True, reason)


def period_coverage(figure: Figure, members: int) -> float:
    """The share of ``members`` devices x the whole period that readings cover: a period before
    the household was monitored, or half monitored, is covered that little."""
    whole = members * figure.duration_s
    return min(figure.covered_s / whole, 1.0) if whole > 0 else 0.0


def comparable(
    current: Figure, baseline: Figure, *, members: int, threshold: float
) -> tuple[bool, str | None]:
    """Whether a change in percent may be shown: both periods covered at least ``threshold`` of
    (``members`` devices, those taking part in either, x the period's length)."""
    for which, figure in (("this period", current), ("the baseline", baseline)):
        share = period_coverage(figure, members)
        if not figure.has_data:
            return False, f"{which} has no readings"
        if share < threshold:
            return False, f"readings cover only {share:.0%} of {which}"
    return True, None


def compare(
    session: Session,
    selection: Selection,
    baseline: Period,
    *,
    current: Series | None = None,
    settings: Settings | None = None,
) -> list[Comparison]:
    """The selected devices together first, then each device taking part in either period, over
    the selection's period against ``baseline``."""
    settings = settings or get_settings()
    threshold = settings.comparable_coverage
    now = current or read_series(session, selection.with_granularity("total"))
    before = read_series(session, selection.with_period(baseline).with_granularity("total"))
    ids = list(dict.fromkeys([*(d.device_id for d in now.devices), *before.by_device]))
    totals_now = {d: now.device_total(d) for d in now.by_device}
    totals_before = {d: before.device_total(d) for d in before.by_device}
    # Each total once: a device missing from one period takes its bounds from it (a household
    # of 500 devices whose baseline had no data summed the baseline 500 times).
    now_total, before_total = now.total, before.total
    rows = [
        Comparison(
            None,
            now_total,
            before_total,
            *comparable(now_total, before_total, members=len(ids), threshold=threshold),
        )
    ]
    for device_id in ids:
        cur = totals_now.get(device_id) or _blank(now_total, device_id)
        base = totals_before.get(device_id) or _blank(before_total, device_id)
        rows.append(
            Comparison(device_id, cur, base, *comparable(cur, base, members=1, threshold=threshold))
        )
    return rows


def _blank(like: Figure, device_id: str) -> Figure:
    return Figure(start=like.start, end=like.end, device_id=device_id, duration_s=like.duration_s)


# --- shares ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A device's consumption as a share of the selection's consumption, and its generation as a
    share of the selection's generation."""

    figure: Figure
    consumption_share: float | None
    generation_share: float | None


def shares(series: Series) -> list[Share]:
    """Each device's share over the whole range; largest consumers first, then generators."""
    totals = series.device_totals()
    together = series.total
    out = []
    for figure in totals:
        consumed = together.consumed_wh
        generated = together.generated_wh
        out.append(
            Share(
                figure=figure,
                consumption_share=figure.consumed_wh / consumed if consumed else None,
                generation_share=figure.generated_wh / generated if generated else None,
            )
        )
    return sorted(
        out,
        key=lambda s: (
            s.figure.is_generating,
            -(s.figure.generated_wh if s.figure.is_generating else s.figure.consumed_wh),
            s.figure.device_id,
        ),
    )


# --- profiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileCell:
    """The hours of a range at local ``hour`` (and on ``weekday``, 0 = Monday; None = any day):
    the mean of their average consumption (and net) power, over ``hours`` hours with data."""

    weekday: int | None
    hour: int
    avg_w: float | None
    avg_net_w: float | None
    consumption_wh: float
    hours: int


def _hourly(session: Session, selection: Selection) -> list[Figure]:
    return read_series(session, selection.with_granularity("hour"), flows=False).household


def weekday_hour_profile(session: Session, selection: Selection) -> list[ProfileCell]:
    """Average power of the selection for each local hour of each weekday: always 7 x 24 cells,
    Monday 00:00 first (cells without data have no average)."""
    return _profile(session, selection, by_weekday=True, min_coverage=0.0)


def hour_of_day_profile(
    session: Session, selection: Selection, *, min_coverage: float = 0.5
) -> list[ProfileCell]:
    """Average power for each local hour of the day, over the hours covered at least
    ``min_coverage``; hours of the day without such hours are left out."""
    return _profile(session, selection, by_weekday=False, min_coverage=min_coverage)


def _profile(
    session: Session, selection: Selection, *, by_weekday: bool, min_coverage: float
) -> list[ProfileCell]:
    tz = selection.tz
    keys = [(d, h) for d in range(7) for h in range(24)] if by_weekday else []
    found: dict[tuple[int | None, int], list[Figure]] = {key: [] for key in keys}
    for figure in _hourly(session, selection):
        coverage = figure.coverage
        if coverage is None or coverage < min_coverage or figure.avg_w is None:
            continue
        local = figure.start.astimezone(tz)
        found.setdefault((local.weekday() if by_weekday else None, local.hour), []).append(figure)
    return [
        ProfileCell(
            weekday=d,
            hour=h,
            avg_w=statistics.fmean(f.avg_w for f in figures) if figures else None,
            avg_net_w=statistics.fmean(f.avg_net_w for f in figures) if figures else None,
            consumption_wh=sum(f.consumed_wh for f in figures),
            hours=len(figures),
        )
        for (d, h), figures in sorted(found.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1]))
    ]


# --- peak hour ---------------------------------------------------------------------------------

PEAK_HOUR_MIN_COVERAGE = 0.5


def peak_hour(
    hourly: Sequence[Figure], *, min_coverage: float = PEAK_HOUR_MIN_COVERAGE
) -> Figure | None:
    """The hour (of an hourly series' figures for the devices together) with the highest average
    consumption power, among the hours the readings cover at least ``min_coverage``: an hour
    seen for two minutes says little about the whole hour. The earliest such hour on a tie."""
    covered = [f for f in hourly if f.avg_w is not None and (f.coverage or 0.0) >= min_coverage]
    return max(covered, key=lambda f: f.avg_w, default=None)


# --- baseload ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseload:
    baseload_w: float | None
    percentile: int
    period: Period
    hours_used: int
    hours_total: int
    coverage: float | None


def baseload(
    session: Session,
    household: Household,
    *,
    now: datetime,
    days: int = 7,
    percentile: int = 10,
    min_coverage: float = 0.9,
) -> Baseload:
    """The always-on load: the ``percentile``-th percentile (linear interpolation) of the
    household's hourly average consumption over the ``days`` whole local days before today, from
    the hours covered at least ``min_coverage`` (a gap is unknown, not zero)."""
    tz = household.tz
    today = now.astimezone(tz).date()
    end = local_midnight(today, tz)
    period = Period(
        start=add_days(end, -days),
        end=end,
        label=f"the last {days} whole days",
        kind="day",
        length=days,
    )
    hourly = _hourly(session, household.select(period))
    values = sorted(
        f.avg_w
        for f in hourly
        if f.coverage is not None and f.coverage >= min_coverage and f.avg_w is not None
    )
    value = None
    if len(values) >= 2:
        value = statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]
    elif values:
        value = values[0]
    covered = [f for f in hourly if f.coverage is not None]
    spans = sum(f.span_s for f in covered)
    return Baseload(
        baseload_w=value,
        percentile=percentile,
        period=period,
        hours_used=len(values),
        hours_total=len(hourly),
        coverage=min(sum(f.covered_s for f in covered) / spans, 1.0) if spans else None,
    )


# --- extremes with when ------------------------------------------------------------------------


def locate_extremes(session: Session, selection: Selection, figure: Figure) -> Figure:
    """Fill in when ``figure``'s (one device's) peak and minimum were read: the first reading at
    that power, in the stored hours or at the raw ends of the range, whichever is earlier (the
    start of its hour once retention has pruned the readings)."""
    device = selection.household.device(figure.device_id) if figure.device_id else None
    if device is None:
        return figure
    for largest in (True, False):
        value = figure.max_w if largest else figure.min_w
        if value is None:
            continue
        at = figure.max_at if largest else figure.min_at
        found = _extreme_at(session, selection, device, value, largest=largest)
        if found is not None and (at is None or found < at):
            at = found
        if largest:
            figure.max_at = at
        else:
            figure.min_at = at
    return figure


def _extreme_at(
    session: Session, selection: Selection, device: DeviceRef, value: float, *, largest: bool
) -> datetime | None:
    full_start, full_end = ceil_hour(selection.start), floor_hour(selection.end)
    if full_start >= full_end:
        return None
    conn = session.connection()
    hours = sql.hours_reaching(
        conn,
        user_id=selection.user_id,
        device_pk=device.pk,
        full_start=full_start,
        full_end=full_end,
        largest=largest,
        power_w=value,
    )
    # Only the hours of the day and days of the week the selection counts ("at night").
    wanted, weekdays = selection.hours, selection.weekdays
    tz = selection.tz
    hour = next(
        (
            h
            for h in hours
            if (wanted is None or h.astimezone(tz).hour in wanted)
            and (weekdays is None or h.astimezone(tz).weekday() in weekdays)
        ),
        None,
    )
    if hour is None:
        # No stored hour holds that reading: it was read in a raw hour at an end of the range.
        return None
    exact = sql.first_reading_at_power(
        conn,
        user_id=selection.user_id,
        device_pk=device.pk,
        start=hour,
        end=hour + HOUR,
        power_w=value,
    )
    return exact or hour


# --- duty cycle --------------------------------------------------------------------------------

DEFAULT_STANDBY_W = 5.0


def duty_cycle(
    session: Session, selection: Selection, device: DeviceRef, *, standby_w: float
) -> Holding:
    """The duty cycle and gaps of ``device`` over the part of the selection it took part in: an
    empty stretch (no time, no gap) at the selection's start when it took no part."""
    part = device.part_in(selection.start, selection.end)
    if part is None:
        return Holding(
            start=selection.start,
            end=selection.start,
            standby_w=standby_w,
            covered_s=0.0,
            active_s=0.0,
            gaps=[],
        )
    return holding(
        session,
        user_id=selection.user_id,
        device=device,
        start=part[0],
        end=part[1],
        standby_w=standby_w,
    )


__all__ = [
    "DEFAULT_STANDBY_W",
    "PEAK_HOUR_MIN_COVERAGE",
    "Baseload",
    "Change",
    "Comparison",
    "ProfileCell",
    "Share",
    "baseload",
    "comparable",
    "compare",
    "duty_cycle",
    "hour_of_day_profile",
    "locate_extremes",
    "peak_hour",
    "period_coverage",
    "shares",
    "weekday_hour_profile",
]

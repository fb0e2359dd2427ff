"""The alert rules (docs/alerts.md): each turns figures of the read layer into findings, a
condition that holds now, with its explanation in the glossary's words and its evidence.

The rules compute no energy of their own: every figure comes from ``energy_core.stats``
(``read_series`` over a ``Selection``, ``baseload``, ``billing_summary``, ``latest_readings``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from energy_core.stats import DEFAULT_STANDBY_W, Baseload, DeviceRef, Figure, Household
from energy_core.stats.bills import BillingSummary
from energy_core.stats.money import HOUR
from energy_core.units import format_money, format_power, format_price

# Robust z-score above which an hour is unusual, per sensitivity (MAD scaled by 1.4826 to be
# comparable with a standard deviation).
SENSITIVITY = {"high": 3.0, "normal": 5.0, "low": 8.0}
MAD_SCALE = 1.4826
# An hour must also differ from its usual by this many watts and this share of the usual: a
# device that always draws 2 W is not unusual at 4 W.
UNUSUAL_MIN_W = 20.0
UNUSUAL_MIN_SHARE = 0.5
UNUSUAL_MIN_WEEKS = 4
UNUSUAL_MAX_WEEKS = 8
WELL_COVERED = 0.9
# Left on: the current run of hours above standby, against the device's usual (median) run.
LEFT_ON_MIN_RUNS = 3
LEFT_ON_MIN_HOURS = 3
LEFT_ON_ALWAYS_ON_SHARE = 0.8
# Always-on load rising: this week's baseload against last week's.
BASELOAD_RISE_SHARE = 0.2
BASELOAD_RISE_MIN_W = 30.0
# Offline by default after the device's max gap or this many of its usual intervals.
OFFLINE_INTERVALS = 3
COOLDOWN = {
    "offline": timedelta(minutes=30),
    "unusual_use": timedelta(hours=3),
    "left_on": timedelta(hours=3),
    "baseload_rising": timedelta(days=7),
    "budget": timedelta(days=1),
    "cheap_period": timedelta(0),
}
KINDS = tuple(COOLDOWN)
KIND_TITLES = {
    "offline": "Device offline",
    "unusual_use": "Unusual use",
    "left_on": "Left on",
    "baseload_rising": "Always-on load rising",
    "budget": "Budget",
    "cheap_period": "Cheap period",
}


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: ``key`` names it (one open alert per household and key)."""

    kind: str
    key: str
    title: str
    explanation: str
    figures: list[dict]
    chart: dict
    device: DeviceRef | None = None
    extra: dict = field(default_factory=dict)

    def evidence(self) -> dict:
        return {"figures": self.figures, "chart": self.chart, **self.extra}


def _device_finding(
    kind: str,
    device: DeviceRef,
    *,
    title: str,
    explanation: str,
    figures: list[dict],
    hours: Sequence[Figure],
    usual: dict[datetime, float] | None = None,
) -> Finding:
    """A finding about one device (one open alert per kind and device), with the chart of its
    average power over ``hours`` and, where given, its usual power."""
    chart_title = f"{device.name}: average power per hour"
    if usual is not None:
        chart_title += ", and usual"
    return Finding(
        kind=kind,
        key=f"{kind}:{device.device_id}",
        title=title,
        explanation=explanation,
        figures=figures,
        chart=hourly_chart(hours, title=chart_title, usual=usual),
        device=device,
    )


def _w(value: float) -> str:
    # As the figures under the explanation and every page write power: "542 W", "1.23 kW".
    return format_power(value)


def _figure(label: str, value: float | str | None, unit: str = "") -> dict:
    return {"label": label, "value": value, "unit": unit}


def hourly_chart(
    figures: Sequence[Figure], *, title: str, usual: dict[datetime, float] | None = None
) -> dict:
    """A chart of hourly average power (W): one point per hour, None where no reading holds."""
    usual = usual or {}
    return {
        "title": title,
        "unit": "W",
        "mark": "line",
        "reference": None,
        "points": [
            {
                "at": f.start.astimezone(UTC).isoformat(),
                "label": None,
                "value": None if f.avg_w is None else round(f.avg_w, 3),
                "usual": None if f.start not in usual else round(usual[f.start], 3),
            }
            for f in figures
        ],
    }


# --- offline -----------------------------------------------------------------------------------


def offline_after_s(device: DeviceRef, usual_interval_s: float | None, minutes: int | None) -> int:
    """Seconds without a reading after which ``device`` is offline: the device's own setting, else
    its max gap or ``OFFLINE_INTERVALS`` of its usual reporting interval, whichever is longer,
    rounded up to whole minutes."""
    if minutes:
        return minutes * 60
    seconds = max(device.max_gap_s, OFFLINE_INTERVALS * (usual_interval_s or 0.0))
    return math.ceil(seconds / 60) * 60


def offline(
    device: DeviceRef,
    *,
    last_at: datetime,
    now: datetime,
    after_s: int,
    usual_interval_s: float | None,
    recent: Sequence[Figure],
) -> Finding | None:
    silent = now - last_at
    if silent.total_seconds() < after_s:
        return None
    minutes = int(silent.total_seconds() // 60)
    interval = f"it usually reports every {usual_interval_s:,.0f} s, " if usual_interval_s else ""
    explanation = (
        f"{device.name} has sent no reading for {_duration(minutes)}: last seen "
        f"{last_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. It is not online (its latest reading "
        f"no longer holds: {interval}its max gap is {device.max_gap_s} s) and counts as offline "
        f"after {after_s // 60} minutes without a reading. Check its power and network."
    )
    return _device_finding(
        "offline",
        device,
        title=f"{device.name} is offline",
        explanation=explanation,
        figures=[
            _figure("Last seen", last_at.astimezone(UTC).isoformat()),
            _figure("Minutes without a reading", minutes, "min"),
            _figure("Offline after", after_s // 60, "min"),
            _figure("Usual reporting interval", usual_interval_s, "s"),
        ],
        hours=recent,
    )


def _duration(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


# --- unusual use -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usual:
    """A device's usual average power at one hour of the week: median and MAD of past weeks."""

    median_w: float
    mad_w: float
    weeks: int


def usual_at(hourly: Sequence[Figure], index: int) -> Usual | None:
    """The usual of the hour at ``index`` of an hourly series: the same local weekday and hour in
    the ``UNUSUAL_MAX_WEEKS`` weeks before, from hours covered at least 90 %; None with fewer than
    ``UNUSUAL_MIN_WEEKS`` such weeks (not enough history)."""
    target = hourly[index].start
    values = []
    for f in reversed(hourly[:index]):
        if len(values) == UNUSUAL_MAX_WEEKS:
            break
        if f.start.weekday() != target.weekday() or f.start.hour != target.hour:
            continue
        if (f.coverage or 0.0) >= WELL_COVERED and f.avg_w is not None:
            values.append(f.avg_w)
    if len(values) < UNUSUAL_MIN_WEEKS:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return Usual(median_w=median, mad_w=mad, weeks=len(values))


def unusual_use(device: DeviceRef, hourly: Sequence[Figure], *, sensitivity: str) -> Finding | None:
    """The last hour of ``hourly`` (one device) against its usual hour of the week."""
    hour = hourly[-1]
    if (hour.coverage or 0.0) < WELL_COVERED or hour.avg_w is None:
        return None
    usual = usual_at(hourly, len(hourly) - 1)
    if usual is None:
        return None
    k = SENSITIVITY.get(sensitivity, SENSITIVITY["normal"])
    diff = hour.avg_w - usual.median_w
    spread = MAD_SCALE * usual.mad_w
    if abs(diff) < max(UNUSUAL_MIN_W, UNUSUAL_MIN_SHARE * usual.median_w):
        return None
    if spread > 0 and abs(diff) <= k * spread:
        return None
    start = hour.start
    when = f"{start:%A} {start:%H:%M}-{(start + HOUR):%H:%M}"
    direction = "above" if diff > 0 else "below"
    explanation = (
        f"{device.name}'s average power on {start:%A %-d %b}, {start:%H:%M}-"
        f"{(start + HOUR):%H:%M}, was {_w(hour.avg_w)}; on {start:%A}s at that hour it usually "
        f"averages {_w(usual.median_w)} (the median of the last {usual.weeks} weeks; median "
        f"absolute deviation {_w(usual.mad_w)}). That is {_w(abs(diff))} {direction} usual "
        f"(sensitivity: {sensitivity})."
    )
    usual_by_hour = {}
    window = hourly[-24:]
    offset = len(hourly) - len(window)
    for i, f in enumerate(window):
        found = usual_at(hourly, offset + i)
        if found is not None:
            usual_by_hour[f.start] = found.median_w
    return _device_finding(
        "unusual_use",
        device,
        title=f"Unusual use: {device.name}, {when}",
        explanation=explanation,
        figures=[
            _figure("Average power", round(hour.avg_w, 3), "W"),
            _figure("Usual (median)", round(usual.median_w, 3), "W"),
            _figure("Median absolute deviation", round(usual.mad_w, 3), "W"),
            _figure("Weeks compared", usual.weeks),
        ],
        hours=window,
        usual=usual_by_hour,
    )


# --- left on -----------------------------------------------------------------------------------


def _runs(hourly: Sequence[Figure], standby_w: float) -> tuple[list[int], int, int, int]:
    """Runs of consecutive hours whose average power is above standby: the finished runs'
    lengths, the current run's (ending with the last hour; 0 when off), hours on, hours seen."""
    runs: list[int] = []
    run = on = seen = 0
    for f in hourly:
        if f.avg_w is None:
            if run:
                runs.append(run)
            run = 0
            continue
        seen += 1
        if f.avg_w > standby_w:
            run += 1
            on += 1
        elif run:
            runs.append(run)
            run = 0
    return runs, run, on, seen


def left_on(
    device: DeviceRef, hourly: Sequence[Figure], *, standby_w: float = DEFAULT_STANDBY_W
) -> Finding | None:
    """On (average power above standby) for longer than twice its usual run, at least
    ``LEFT_ON_MIN_HOURS``; never for a device on most of the time (a fridge, a router)."""
    runs, current, on, seen = _runs(hourly, standby_w)
    if len(runs) < LEFT_ON_MIN_RUNS or not seen or on / seen >= LEFT_ON_ALWAYS_ON_SHARE:
        return None
    usual = statistics.median(runs)
    if current < LEFT_ON_MIN_HOURS or current <= 2 * usual:
        return None
    since = hourly[-current].start
    explanation = (
        f"{device.name} has been on (average power above the {standby_w:g} W standby threshold) "
        f"for {current} hours in a row, since {since:%a %-d %b %H:%M}; its usual run is "
        f"{usual:g} hours (the median of its last {len(runs)} runs). Was it left on?"
    )
    return _device_finding(
        "left_on",
        device,
        title=f"{device.name} left on for {current} hours",
        explanation=explanation,
        figures=[
            _figure("Hours on in a row", current, "h"),
            _figure("Usual run (median)", usual, "h"),
            _figure("Runs compared", len(runs)),
            _figure("Average power now", round(hourly[-1].avg_w or 0.0, 3), "W"),
        ],
        hours=hourly[-24:],
    )


# --- always-on load ----------------------------------------------------------------------------


def baseload_rising(this_week: Baseload, last_week: Baseload) -> Finding | None:
    now_w, before_w = this_week.baseload_w, last_week.baseload_w
    if now_w is None or before_w is None:
        return None
    rise = now_w - before_w
    if rise < BASELOAD_RISE_MIN_W or rise < BASELOAD_RISE_SHARE * before_w:
        return None
    share = f" (+{rise / before_w:.0%})" if before_w > 0 else ""
    explanation = (
        f"The household's baseload (always-on load) over {this_week.period.describe()} is "
        f"{_w(now_w)}, up {_w(rise)}{share} from {_w(before_w)} the 7 days before. Something "
        "new may be running all the time (a heater, a pump, a device that no longer sleeps)."
    )
    return Finding(
        kind="baseload_rising",
        key="baseload_rising",
        title=f"Always-on load up {_w(rise)}",
        explanation=explanation,
        figures=[
            _figure("Baseload, last 7 days", round(now_w, 3), "W"),
            _figure("Baseload, 7 days before", round(before_w, 3), "W"),
            _figure("Rise", round(rise, 3), "W"),
        ],
        chart={
            "title": "Baseload (always-on), week by week",
            "unit": "W",
            "mark": "bar",
            "reference": None,
            "points": [
                {
                    "at": last_week.period.start.astimezone(UTC).isoformat(),
                    "label": "the 7 days before",
                    "value": before_w,
                    "usual": None,
                },
                {
                    "at": this_week.period.start.astimezone(UTC).isoformat(),
                    "label": "the last 7 days",
                    "value": now_w,
                    "usual": None,
                },
            ],
        },
    )


# --- budget ------------------------------------------------------------------------------------


def budget(summary: BillingSummary, currency: str, days: Sequence[Figure]) -> Finding | None:
    verdict = summary.budget_verdict
    if verdict not in ("over budget", "on course to exceed the budget"):
        return None
    cur, budget_value = summary.current, summary.budget
    projected = summary.projected_total
    text = f"The bill of this billing period ({cur.first_day:%-d %b} to {cur.last_day:%-d %b}) "
    if verdict == "over budget":
        text += f"is {_money(cur.total, currency)} already, over the budget of "
        text += f"{_money(budget_value, currency)}."
    else:
        text += (
            f"is projected at {_money(projected, currency)}, above the budget of "
            f"{_money(budget_value, currency)}: {_money(cur.total, currency)} so far "
            f"({summary.budget_used:.0%} used after {cur.days_so_far} of {cur.days} days). "
            f"Projection: {summary.method}."
        )
    running, points = 0.0, []
    for f in days:
        running += f.cost_value
        points.append(
            {
                "at": f.start.astimezone(UTC).isoformat(),
                "label": f"{f.start:%a %-d %b}",
                "value": round(running, 4),
                "usual": None,
            }
        )
    return Finding(
        kind="budget",
        key=f"budget:{cur.first_day.isoformat()}",
        title="Over budget" if verdict == "over budget" else "Budget about to be exceeded",
        explanation=text,
        figures=[
            _figure("Bill so far", round(cur.total, 4), currency),
            _figure("Projected bill", None if projected is None else round(projected, 4), currency),
            _figure("Budget", budget_value, currency),
        ],
        chart={
            "title": "Energy cost so far this period, day by day, and the budget",
            "unit": currency,
            "mark": "bar",
            "reference": {"label": "Budget", "value": budget_value},
            "points": points,
        },
    )


def _money(amount: float | None, currency: str) -> str:
    return "no data" if amount is None else format_money(amount, currency)


# --- cheap period ------------------------------------------------------------------------------


def cheap_period(household: Household, *, now: datetime) -> Finding | None:
    """A time-of-use period of the current plan, cheaper than its default import price, is on."""
    tariff = household.tariff
    plan = tariff.plan_at(now)
    if plan is None:
        return None
    local = now.astimezone(household.tz)
    rates = plan.import_rates
    on = next((p for p in rates.periods if p.price < rates.default and p.applies(local)), None)
    if on is None:
        return None
    cur = plan.currency
    explanation = (
        f"The cheap period of your tariff is on: {on.words()} at {format_price(on.price, cur)} "
        f"instead of {format_price(rates.default, cur)}. A good time for the washing machine, the "
        "dishwasher or charging."
    )
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    points = []
    for h in range(24):
        at = (day_start + timedelta(hours=h)).astimezone(UTC)
        price = tariff.prices_at(at)[0]
        points.append({"at": at.isoformat(), "label": None, "value": price, "usual": None})
    return Finding(
        kind="cheap_period",
        key=f"cheap_period:{on.words()}",
        title=f"Cheap period on ({on.words()})",
        explanation=explanation,
        figures=[
            _figure("Import price now", on.price, f"{cur}/kWh"),
            _figure("Default import price", rates.default, f"{cur}/kWh"),
        ],
        chart={
            "title": "Import price per hour today",
            "unit": f"{cur}/kWh",
            "mark": "line",
            "reference": None,
            "points": points,
        },
    )

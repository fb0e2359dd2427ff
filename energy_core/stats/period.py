"""Periods of the user's calendar: one half-open range of aware instants ``[start, end)`` with its
timezone, how it was named, and how it steps back to "the period before" and "the same period
last year". Also the calendar buckets (hour, day, week, month) a range is cut into.

Calendar rules (docs/metrics.md, "Periods"): days, weeks (Monday first), months and years are
local; a period that includes now ends at now, and its comparisons end at the same point of
theirs ("this month" on the 8th at 11:15 compares with the 1st to the 8th at 11:15 of the month
before); months shift by calendar months with the day clipped to the month's length; "rolling"
periods (the last 24 hours) shift by their duration in absolute time.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from energy_core.errors import CoreError, ErrorKind
from energy_core.types import HOUR

Granularity = Literal["hour", "day", "week", "month", "total"]
GRANULARITIES: tuple[str, ...] = ("hour", "day", "week", "month", "total")
# day: ``length`` whole local days; week/month/year: calendar units; rolling: a duration.
PeriodKind = Literal["day", "week", "month", "year", "rolling"]

PRESETS: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "Last 7 days",
    "this_week": "This week",
    "last_week": "Last week",
    "this_month": "This month",
    "last_month": "Last month",
    "this_year": "This year",
    "last_year": "Last year",
    "custom": "Custom",
}

# Local hours (start inclusive, end exclusive, wrapping past midnight) of the parts of a day.
TIMES_OF_DAY: dict[str, tuple[int, int]] = {
    "night": (22, 6),
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 22),
    "daytime": (6, 22),
}


class PeriodError(CoreError, ValueError):
    """A period that cannot be answered (in the future, reversed, unreadable)."""

    kind = ErrorKind.invalid
    code = "invalid_period"


# Clock hours as a part of the day: "07-09" is 07:00 to 09:00 local, every day of a period.
HOUR_RANGE = re.compile(r"^(\d{2})-(\d{2})$")


def time_of_day_bounds(time_of_day: str) -> tuple[int, int]:
    """(first hour, end hour) of a named part of the day or of clock hours "HH-HH"."""
    if time_of_day in TIMES_OF_DAY:
        return TIMES_OF_DAY[time_of_day]
    match = HOUR_RANGE.match(time_of_day)
    if match is None:
        raise PeriodError(
            f"{time_of_day!r} is not a part of the day: use night, morning, afternoon, evening, "
            "daytime or whole clock hours such as 07-09."
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first > 23 or last > 24 or first == last % 24:
        raise PeriodError(f"{time_of_day!r} is not a range of clock hours (00-24).")
    return first, last % 24


def time_of_day_words(time_of_day: str) -> str:
    """ "evening hours only (18:00-22:00)", "07:00-09:00 only"."""
    first, last = time_of_day_bounds(time_of_day)
    if time_of_day in TIMES_OF_DAY:
        return f"{time_of_day} hours only ({first:02d}:00-{last:02d}:00)"
    return f"{first:02d}:00-{last:02d}:00 only"


# Days of the week as a filter: "weekdays" (Monday to Friday), "weekends" (Saturday, Sunday) or
# one day of each week ("mondays").
DAYS_OF_WEEK: dict[str, frozenset[int]] = {
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
    **{
        f"{name}s": frozenset({i})
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}


def weekdays_of(days: str | None) -> frozenset[int] | None:
    """The local weekdays (Monday 0) of a days-of-week filter, or None for every day."""
    if days is None:
        return None
    if days not in DAYS_OF_WEEK:
        raise PeriodError(
            f"{days!r} is not a choice of days: use weekdays, weekends or a day ('mondays')."
        )
    return DAYS_OF_WEEK[days]


def days_words(days: str) -> str:
    """ "weekdays", "weekends", "Mondays"."""
    return days if days in ("weekdays", "weekends") else days.capitalize()


def hours_of(time_of_day: str | None) -> frozenset[int] | None:
    """The local hours of a part of the day, or None for the whole day."""
    if time_of_day is None:
        return None
    first, last = time_of_day_bounds(time_of_day)
    if first < last:
        return frozenset(range(first, last))
    return frozenset([*range(first, 24), *range(0, last)])


# --- local calendar arithmetic -----------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def add_months(moment: datetime, months: int) -> datetime:
    """The same local wall-clock time ``months`` later (or earlier); the day is clipped to the
    month's length, so 31 March minus one month is 28 (or 29) February."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def add_days(moment: datetime, days: int) -> datetime:
    """Wall-clock arithmetic: "yesterday at this time" across a DST change is still that time."""
    return (moment.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=moment.tzinfo)


def seconds_between(start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two datetimes of one zone by their wall clocks (wrong across DST).
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def floor_period(ts: datetime, granularity: str, tz: ZoneInfo) -> datetime:
    """Start of the local period that contains ``ts`` (aware, in ``tz``)."""
    local = ts.astimezone(tz)
    if granularity == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if granularity == "week":
        day -= timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    elif granularity != "day":
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    return day.replace(tzinfo=tz)


def next_period(start: datetime, granularity: str, tz: ZoneInfo) -> datetime:
    """Start of the period after the one starting at ``start`` (local wall clock, DST-safe)."""
    if granularity == "hour":
        # Hours advance in absolute time: a 23- or 25-hour day has 23 or 25 of them.
        return (start.astimezone(UTC) + HOUR).astimezone(tz)
    naive = start.replace(tzinfo=None)
    if granularity == "day":
        naive += timedelta(days=1)
    elif granularity == "week":
        naive += timedelta(days=7)
    else:
        naive = (naive.replace(day=28) + timedelta(days=4)).replace(day=1)
    return naive.replace(tzinfo=tz)


def buckets(
    start: datetime, end: datetime, granularity: str, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The local periods that ``[start, end)`` touches, each clipped to the range, as UTC pairs.

    UTC because Python compares and subtracts two datetimes of the same ``tzinfo`` by wall clock,
    which is wrong across a DST change; callers convert to local time only for display.
    """
    if end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if granularity == "total":
        return [(start, end)]
    out = []
    cursor = floor_period(start, granularity, tz)
    while cursor.astimezone(UTC) < end:
        following = next_period(cursor, granularity, tz)
        out.append((max(cursor.astimezone(UTC), start), min(following.astimezone(UTC), end)))
        cursor = following
    return out


def describe_range(start: datetime, end: datetime) -> str:
    """Human dates of ``[start, end)`` in ``start``'s timezone: a day, a run of whole days, or
    times."""
    tz = start.tzinfo
    start_l, end_l = start.astimezone(tz), end.astimezone(tz)
    if start_l.time() == end_l.time() == datetime.min.time():
        last = end_l - timedelta(days=1)
        if last.date() == start_l.date():
            return start_l.strftime("%a %-d %b %Y")
        # The start's year only where it is not the end's ("Thu 25 Dec 2025 - Thu 1 Jan 2026").
        first = "%a %-d %b %Y" if start_l.year != last.year else "%a %-d %b"
        return f"{start_l.strftime(first)} - {last.strftime('%a %-d %b %Y')}"
    if start_l.date() == end_l.date():
        return f"{start_l.strftime('%a %-d %b %Y %H:%M')}-{end_l.strftime('%H:%M')}"
    first = "%a %-d %b %Y %H:%M" if start_l.year != end_l.year else "%a %-d %b %H:%M"
    return f"{start_l.strftime(first)} - {end_l.strftime('%a %-d %b %Y %H:%M')}"


def format_duration(length: timedelta) -> str:
    hours = length.total_seconds() / 3600
    if hours % 24 == 0 and hours >= 24:
        days = int(hours // 24)
        return "day" if days == 1 else f"{days} days"
    if hours.is_integer():
        return "hour" if hours == 1 else f"{int(hours)} hours"
    return f"{hours:.1f} hours"


# --- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open range ``[start, end)`` of aware instants in the user's timezone.

    ``kind`` and ``length`` say how the period steps back for comparisons: ``length`` local days,
    weeks, calendar months or years, or (``rolling``) its duration in absolute time.
    ``full_end`` is where the period would end if now had not cut it short (``end`` otherwise).
    ``time_of_day`` narrows a selection to those local hours ("at night"), and
    ``days_of_week`` to those local days of the week ("weekdays", "weekends"); the range itself
    stays whole.
    """

    start: datetime
    end: datetime
    label: str = ""
    kind: PeriodKind = "rolling"
    length: int = 1
    full_end: datetime | None = None
    time_of_day: str | None = None
    days_of_week: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's start and end must be timezone-aware")
        if self.end < self.start:
            raise PeriodError("The end of the range must be after its start.")
        if self.full_end is None:
            object.__setattr__(self, "full_end", self.end)
        if not self.label:
            object.__setattr__(self, "label", describe_range(self.start, self.full_end))

    # --- what it is ---

    @property
    def tz(self) -> ZoneInfo:
        tz = self.start.tzinfo
        return tz if isinstance(tz, ZoneInfo) else ZoneInfo(str(tz))

    @property
    def timezone(self) -> str:
        return str(self.start.tzinfo)

    @property
    def is_partial(self) -> bool:
        """The period is still running: now cut it short."""
        return self.end < self.full_end

    @property
    def hours(self) -> frozenset[int] | None:
        return hours_of(self.time_of_day)

    @property
    def weekdays(self) -> frozenset[int] | None:
        return weekdays_of(self.days_of_week)

    @property
    def seconds(self) -> float:
        return seconds_between(self.start, self.end)

    @property
    def days(self) -> float:
        return self.seconds / 86_400

    def describe(self) -> str:
        """The label with the exact dates, e.g. "last week (Mon 30 Mar - Sun 5 Apr 2026)"."""
        dates = describe_range(self.start, self.end)
        text = dates if self.label == dates else f"{self.label} ({dates})"
        if self.time_of_day:
            text += ", " + time_of_day_words(self.time_of_day)
        if self.days_of_week:
            text += f", {days_words(self.days_of_week)} only"
        return text

    def in_timezone(self, timezone: str) -> Period:
        tz = ZoneInfo(timezone)
        return replace(
            self,
            start=self.start.astimezone(tz),
            end=self.end.astimezone(tz),
            full_end=self.full_end.astimezone(tz),
        )

    def with_time_of_day(self, time_of_day: str | None) -> Period:
        return replace(self, time_of_day=time_of_day)

    def with_days(self, days: str | None) -> Period:
        weekdays_of(days)  # refuses anything but weekdays or weekends
        return replace(self, days_of_week=days)

    # --- comparisons ---

    def _shift(self, moment: datetime, times: int) -> datetime:
        if self.kind == "rolling":
            length = self.full_end.astimezone(UTC) - self.start.astimezone(UTC)
            return (moment.astimezone(UTC) - length * times).astimezone(self.start.tzinfo)
        if self.kind == "day":
            return add_days(moment, -self.length * times)
        if self.kind == "week":
            return add_days(moment, -7 * self.length * times)
        months = self.length * (12 if self.kind == "year" else 1)
        return add_months(moment, -months * times)

    def previous(self, back: int = 1) -> Period:
        """The period of the same kind ``back`` steps before this one, cut at the same point of
        itself as this one is cut by now (so "today so far" compares with "yesterday until the
        same time")."""
        if self.kind == "rolling":
            length = timedelta(seconds=seconds_between(self.start, self.full_end))
            label = f"the {format_duration(length)} before"
        elif self.length == 1:
            label = f"the {self.kind} before"
        else:
            label = f"the {self.length} {self.kind}s before"
        return replace(
            self,
            start=self._shift(self.start, back),
            end=self._shift(self.end, back),
            full_end=self._shift(self.full_end, back),
            label=label,
        )

    def same_period_last_year(self) -> Period:
        """The same local dates and times a year earlier (29 February becomes the 28th)."""
        return replace(
            self,
            start=add_months(self.start, -12),
            end=add_months(self.end, -12),
            full_end=add_months(self.full_end, -12),
            label=f"{self.label} a year earlier",
        )

    def default_granularity(self) -> Granularity:
        if self.days <= 2:
            return "hour"
        if self.days <= 62:
            return "day"
        if self.days <= 190:
            return "week"
        return "month"


# --- presets -----------------------------------------------------------------------------------


def _calendar_period(
    first: date,
    following: date,
    now: datetime,
    *,
    label: str,
    kind: PeriodKind,
    length: int = 1,
    tz: tzinfo | None = None,
) -> Period:
    """The local days ``[first, following)`` in ``tz`` (default: ``now``'s), cut at ``now``."""
    tz = tz or now.tzinfo
    start, full_end = local_midnight(first, tz), local_midnight(following, tz)
    return Period(
        start=start,
        end=min(full_end, now) if start < now else start,
        label=label,
        kind=kind,
        length=length,
        full_end=full_end,
    )


def preset_period(preset: str, *, now: datetime, timezone: str) -> Period:
    """The period a preset names, in ``timezone``. Periods that include today end at ``now``."""
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    today = local_now.date()
    if preset in ("today", "yesterday"):
        day = today if preset == "today" else today - timedelta(days=1)
        return day_period(day, now=local_now, label=preset)
    if preset == "last_7_days":
        return last_days_period(7, now=now, timezone=timezone)
    if preset in ("this_week", "last_week"):
        return week_period(today, offset=0 if preset == "this_week" else -1, now=local_now)
    if preset in ("this_month", "last_month"):
        first = today.replace(day=1)
        if preset == "last_month":
            first = (first - timedelta(days=1)).replace(day=1)
        return month_period(first.year, first.month, now=local_now, label=preset.replace("_", " "))
    if preset in ("this_year", "last_year"):
        year = today.year if preset == "this_year" else today.year - 1
        return year_period(year, now=local_now, label=preset.replace("_", " "))
    raise ValueError(f"unknown period preset {preset!r}; choose one of {', '.join(PRESETS)}")


def day_period(day: date, *, now: datetime, label: str | None = None) -> Period:
    tz = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo(str(now.tzinfo))
    today = now.astimezone(tz).date()
    if label is None:
        if day == today:
            label = "today"
        elif day == today - timedelta(days=1):
            label = "yesterday"
        else:
            label = day.strftime("%A %-d %B %Y")
    return _calendar_period(day, day + timedelta(days=1), now, label=label, kind="day", tz=tz)


def week_period(today: date, *, offset: int, now: datetime) -> Period:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
    label = {0: "this week", -1: "last week"}.get(offset, f"the week of {monday:%-d %B}")
    return _calendar_period(monday, monday + timedelta(days=7), now, label=label, kind="week")


def month_period(year: int, month: int, *, now: datetime, label: str | None = None) -> Period:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return _calendar_period(
        first, following, now, label=label or first.strftime("%B %Y"), kind="month"
    )


def year_period(year: int, *, now: datetime, label: str | None = None) -> Period:
    return _calendar_period(
        date(year, 1, 1), date(year + 1, 1, 1), now, label=label or str(year), kind="year"
    )


def days_period(
    first_day: date, last_day: date, *, timezone: str, now: datetime | None = None
) -> Period:
    """Whole local days from ``first_day`` to ``last_day`` inclusive (either order); compared
    with as many days just before. With ``now``, a range that reaches today ends at now."""
    if last_day < first_day:
        first_day, last_day = last_day, first_day
    tz = ZoneInfo(timezone)
    days = (last_day - first_day).days + 1
    start = local_midnight(first_day, tz)
    full_end = local_midnight(last_day + timedelta(days=1), tz)
    label = describe_range(start, full_end)
    if now is None:
        return Period(start=start, end=full_end, label=label, kind="day", length=days)
    return _calendar_period(
        first_day,
        last_day + timedelta(days=1),
        now.astimezone(tz),
        label=label,
        kind="day",
        length=days,
    )


def last_days_period(
    days: int, *, now: datetime, timezone: str, label: str | None = None
) -> Period:
    """ "The last ``days`` days": today so far and the ``days`` - 1 whole local days before it,
    ending at now; compared with the ``days`` days before. Pages, the chat and the API's callers
    all mean this by it (docs/metrics.md, "Periods")."""
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    today = local_now.date()
    return _calendar_period(
        today - timedelta(days=days - 1),
        today + timedelta(days=1),
        local_now,
        label=label or f"the last {days} day{'s' if days != 1 else ''}",
        kind="day",
        length=days,
    )


def rolling_period(end: datetime, length: timedelta, *, label: str | None = None) -> Period:
    """The ``length`` of absolute time up to ``end`` (e.g. the last 24 hours)."""
    start = (end.astimezone(UTC) - length).astimezone(end.tzinfo)
    return Period(start=start, end=end, label=label or f"the last {format_duration(length)}")


def instant_period(start: datetime, end: datetime, *, timezone: str, label: str = "") -> Period:
    """Two instants as a period of ``timezone`` (what the API's ``start``/``end`` give)."""
    tz = ZoneInfo(timezone)
    if end <= start:
        raise PeriodError("The end of the range must be after its start.")
    return Period(start=start.astimezone(tz), end=end.astimezone(tz), label=label)


__all__ = [
    "GRANULARITIES",
    "PRESETS",
    "TIMES_OF_DAY",
    "Granularity",
    "Period",
    "PeriodError",
    "PeriodKind",
    "add_days",
    "add_months",
    "buckets",
    "day_period",
    "days_period",
    "describe_range",
    "floor_period",
    "format_duration",
    "hours_of",
    "days_words",
    "weekdays_of",
    "instant_period",
    "last_days_period",
    "local_midnight",
    "month_period",
    "next_period",
    "preset_period",
    "rolling_period",
    "seconds_between",
    "week_period",
    "year_period",
]

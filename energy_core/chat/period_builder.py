"""Periods built from the words that name them, relative to one ``now`` in one timezone: a
pattern's match ("last 3 days", "in October", "2026-03-05") made into its exact range."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_core.chat.period_words import (
    HOLIDAYS,
    MONTHS,
    ORDINAL_WORDS,
    SEASONS,
    WEEKDAYS,
    month_number,
    number_of,
)
from energy_core.stats.period import (
    TIMES_OF_DAY,
    Period,
    PeriodError,
    add_months,
    day_period,
    describe_range,
    last_days_period,
    local_midnight,
    month_period,
    rolling_period,
    week_period,
    year_period,
)

# Timezones whose households write a date in numbers month first (11/3 is 3 November): the
# Americas, under their current names and the old US aliases (US/Eastern, US/Pacific...).
MONTH_FIRST_ZONES = ("America/", "US/")


def month_first_zone(timezone: str) -> bool:
    return timezone.startswith(MONTH_FIRST_ZONES)


class PeriodBuilder:
    """Builds periods relative to one ``now`` in one timezone."""

    def __init__(self, *, now: datetime, tz: ZoneInfo):
        self.tz = tz
        self.now = now.astimezone(tz)
        self.today = self.now.date()

    def _check_started(self, start: datetime, full_end: datetime, label: str) -> None:
        if start >= self.now:
            raise PeriodError(
                f"{label.capitalize()} ({describe_range(start, full_end)}) has not started yet, "
                "so there is no data for it. Ask about a past period, e.g. 'last week'."
            )

    def _make(
        self, start: datetime, full_end: datetime, label: str, kind: str, length: int = 1
    ) -> Period:
        self._check_started(start, full_end, label)
        return Period(
            start=start,
            end=min(full_end, self.now),
            label=label,
            kind=kind,
            length=length,
            full_end=full_end,
        )

    def _started(self, period: Period) -> Period:
        """A calendar period of the read layer, as long as it has begun."""
        self._check_started(period.start, period.full_end, period.label)
        return period

    def day(self, day: date, label: str | None = None) -> Period:
        return self._started(day_period(day, now=self.now, label=label))

    def week(self, offset: int) -> Period:
        return self._started(week_period(self.today, offset=offset, now=self.now))

    def week_of(self, day: date) -> Period:
        monday = day - timedelta(days=day.weekday())
        this_monday = self.today - timedelta(days=self.today.weekday())
        return self.week((monday - this_monday).days // 7)

    def month(self, year: int, month: int, label: str | None = None) -> Period:
        return self._started(month_period(year, month, now=self.now, label=label))

    def year(self, year: int, label: str | None = None) -> Period:
        return self._started(year_period(year, now=self.now, label=label))

    def last_days(self, days: int, label: str) -> Period:
        """Today so far and the whole days before it: what "the last 7 days" means on every
        page, not 168 hours back from now."""
        return last_days_period(days, now=self.now, timezone=self.tz.key, label=label)

    def rolling(self, length: timedelta, label: str) -> Period:
        return rolling_period(self.now, length, label=label)

    def rolling_months(self, months: int, label: str) -> Period:
        start = add_months(self.now.replace(tzinfo=None), -months).replace(tzinfo=self.tz)
        return Period(start=start, end=self.now, label=label, kind="rolling", full_end=self.now)

    def since(self, period: Period) -> Period:
        return Period(
            start=period.start,
            end=self.now,
            label=f"since {period.label}",
            kind="rolling",
            full_end=self.now,
        )

    def between(self, first: Period, last: Period) -> Period:
        if last.full_end <= first.start:
            raise PeriodError(
                f"The range from {first.label} to {last.label} ends before it starts; "
                "put the earlier date first."
            )
        return self._make(first.start, last.full_end, f"{first.label} to {last.label}", "rolling")

    def latest_month(self, month: int, year: int | None) -> Period:
        """The named month: of ``year`` if given, else the most recent one that has begun."""
        if year is None:
            year = self.today.year if month <= self.today.month else self.today.year - 1
        return self.month(year, month)

    def latest_date(self, month: int, day: int, year: int | None) -> Period:
        """A day of the year: of ``year`` if given, else the most recent one not in the future."""
        try:
            if year is not None:
                return self.day(date(year, month, day))
            candidate = date(self.today.year, month, day)
            if candidate > self.today:
                candidate = date(self.today.year - 1, month, day)
        except ValueError as exc:
            raise PeriodError(f"There is no such date ({day}/{month}): {exc}.") from exc
        return self.day(candidate)

    def numeric_date(self, first: int, second: int, year: str | None) -> Period | None:
        """30/11 or 11/28: in the order that makes a date; when both do (3/12), in the
        household's order: month first in the Americas, day first elsewhere. None when neither
        number can be a month (30/15, 5/0): that is no date at all, so the words around it are
        read without it."""
        if not (1 <= first <= 12 or 1 <= second <= 12) or 0 in (first, second):
            return None
        month_first = second > 12 or (first <= 12 and month_first_zone(self.tz.key))
        month, dom = (first, second) if month_first else (second, first)
        full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        return self.latest_date(month, dom, full_year)

    def ago(self, count: int, unit: str) -> Period:
        """ "3 days ago": that day; "2 weeks ago", "a month ago": that calendar week or month."""
        if count < 1:
            raise PeriodError("Ask about at least one day, week or month ago.")
        if unit == "day":
            return self.day(self.today - timedelta(days=count))
        if unit == "week":
            return self.week(-count)
        first = date(self.today.year, self.today.month, 1)
        year, month = divmod(first.year * 12 + first.month - 1 - count, 12)
        return self.month(year, month + 1)

    def weekday(self, weekday: int, qualifier: str | None) -> Period:
        back = (self.today.weekday() - weekday) % 7
        if qualifier == "last" and back == 0:
            back = 7
        if qualifier == "this":
            # "this Monday": the one of the current week (it may still be ahead).
            back = self.today.weekday() - weekday
        return self.day(self.today - timedelta(days=back))

    def nth(self, dom: int) -> Period:
        """ "The 12th": that day of this month, or of last month while it is still ahead."""
        first = date(self.today.year, self.today.month, 1)
        for month_start in (first, (first - timedelta(days=1)).replace(day=1)):
            try:
                candidate = month_start.replace(day=dom)
            except ValueError:
                continue
            if candidate <= self.today:
                return self.day(candidate)
        raise PeriodError(f"There is no {dom}th in this month or the last.")

    def season(self, name: str, qualifier: str | None, year: int | None) -> Period:
        """A season of three months (winter: December to February): the one running now or
        the latest begun; "last" the one before that when this one is still running."""
        first_month = SEASONS[name]
        starts = []
        for y in (self.today.year + 1, self.today.year, self.today.year - 1, self.today.year - 2):
            start = date(y, first_month, 1)
            if start <= self.today:
                starts.append(start)
        if year is not None:
            # "winter 2025" is the one that starts in December 2025.
            starts = [date(year, first_month, 1)]
        start = starts[0]
        end = date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)
        running = start <= self.today < end
        if qualifier in {"last", "past", "previous"} and running and year is None:
            start = date(start.year - 1, start.month, 1)
            end = date(end.year - 1, end.month, 1)
        label = (
            f"{qualifier} {name}"
            if qualifier in {"this", "last"} and year is None
            else (
                f"{name} {start.year}"
                + (f"/{end.year % 100:02d}" if end.year != start.year else "")
            )
        )
        period = self._make(
            local_midnight(start, self.tz), local_midnight(end, self.tz), label, "month"
        )
        return replace(period, length=3)

    def last_night(self) -> Period:
        """From 22:00 yesterday to 06:00 today (cut at now)."""
        first, last = TIMES_OF_DAY["night"]
        start = local_midnight(self.today - timedelta(days=1), self.tz).replace(hour=first)
        end = local_midnight(self.today, self.tz).replace(hour=last)
        return self._make(start, end, "last night", "day")

    def night_of(self, day: date, label: str) -> Period:
        """The night that begins on ``day``: 22:00 that day to 06:00 the next (cut at now)."""
        first, last = TIMES_OF_DAY["night"]
        start = local_midnight(day, self.tz).replace(hour=first)
        end = local_midnight(day + timedelta(days=1), self.tz).replace(hour=last)
        return self._make(start, end, label, "day")

    def weekend(self, qualifier: str) -> Period:
        # The most recent Saturday that starts a weekend already begun (this weekend includes
        # today when today is a Saturday or Sunday).
        back = (self.today.weekday() - 5) % 7
        saturday = self.today - timedelta(days=back)
        if qualifier == "last" and self.today.weekday() >= 5:
            saturday -= timedelta(days=7)
        # On a weekday "this weekend" has not begun: the one answered is the last one, and is
        # called so.
        running = self.today.weekday() >= 5
        label = "this weekend" if qualifier == "this" and running else "last weekend"
        # A weekend steps back a week at a time: the weekend before.
        return self._make(
            local_midnight(saturday, self.tz),
            local_midnight(saturday + timedelta(days=2), self.tz),
            label,
            "week",
        )


def build_period(kind: str, match: re.Match[str], b: PeriodBuilder) -> Period | None:
    g = match.groups()
    if kind == "iso_date":
        try:
            return b.day(date(int(g[0]), int(g[1]), int(g[2])))
        except ValueError as exc:
            raise PeriodError(f"{match.group(0)!r} is not a date: {exc}.") from exc
    if kind == "numeric_date":
        first, second, year = g[:3] if g[0] else g[3:6]  # 30/11(/2026), or 1.11.2026
        return b.numeric_date(int(first), int(second), year)
    if kind == "ago":
        return b.ago(number_of(g[0]), g[1])
    if kind == "day_month":
        dom = ORDINAL_WORDS.get(g[0]) or int(g[0])
        return b.latest_date(month_number(g[1]), dom, int(g[2]) if g[2] else None)
    if kind == "fortnight":
        return b.last_days(14, "the last 14 days")
    if kind == "month_day":
        return b.latest_date(month_number(g[0]), int(g[1]), int(g[2]) if g[2] else None)
    if kind == "nth":
        return b.nth(int(g[0]))
    if kind == "season":
        qualifier = g[0] if g[0] in {"this", "last", "past", "previous"} else None
        return b.season(
            "autumn" if g[1] == "fall" else g[1], qualifier, int(g[2]) if g[2] else None
        )
    if kind == "holiday":
        month, dom = HOLIDAYS[g[0].replace("'", "")]
        return b.latest_date(month, dom, int(g[1]) if g[1] else None)
    if kind == "day_before_yesterday":
        return b.day(b.today - timedelta(days=2), "the day before yesterday")
    if kind == "this_part":
        part = g[0] or "evening"
        return b.day(b.today, f"this {part}").with_time_of_day(part)
    if kind == "last_night":
        return b.last_night()
    if kind == "last_unit":
        if g[0] == "hour":
            return b.rolling(timedelta(hours=1), "the last hour")
        return b.rolling(timedelta(hours=24), "the last 24 hours")
    if kind == "today":
        return b.day(b.today)
    if kind == "yesterday":
        return b.day(b.today - timedelta(days=1))
    if kind == "last_n":
        count, unit = (number_of(g[0]), g[1]) if g[0] else (int(g[2]), g[3])
        label = f"the last {count} {unit}{'s' if count != 1 else ''}"
        if count < 1:
            raise PeriodError("Ask about at least one hour, day, week or month.")
        if unit == "hour":
            return b.rolling(timedelta(hours=count), label)
        if unit == "day":
            return b.last_days(count, label)
        if unit == "week":
            return b.last_days(7 * count, label)
        if unit == "month":
            return b.rolling_months(count, label)
        return b.rolling_months(12 * count, label)
    if kind == "rolling_24h":
        return b.rolling(timedelta(hours=24), "the last 24 hours")
    if kind == "weekend":
        return b.weekend("this" if g[0] == "this" else "last")
    if kind == "relative":
        which, unit = g
        if which == "past":
            # "the past week" is the last seven days, not the calendar week.
            if unit == "week":
                return b.last_days(7, "the past week")
            if unit == "month":
                return b.rolling_months(1, "the past month")
            return b.rolling_months(12, "the past year")
        offset = 0 if which in {"this", "current"} else -1
        if unit == "week":
            return b.week(offset)
        if unit == "month":
            first = date(b.today.year, b.today.month, 1)
            if offset:
                first = (first - timedelta(days=1)).replace(day=1)
            return b.month(first.year, first.month, "this month" if offset == 0 else "last month")
        year = b.today.year + offset
        return b.year(year, "this year" if offset == 0 else "last year")
    if kind == "weekday":
        qualifier = {"past": "last", "previous": "last"}.get(g[0], g[0])
        return b.weekday(WEEKDAYS.index(g[1]), qualifier)
    if kind == "days_of_month":
        first_day, last_day, name, year = g
        last = b.latest_date(month_number(name), int(last_day), int(year) if year else None)
        end = last.start.date()
        try:
            first = b.day(end.replace(day=int(first_day)))
        except ValueError as exc:
            raise PeriodError(f"There is no such date: {exc}.") from exc
        return b.between(first, last)
    if kind == "week_of_month":
        which, name, year = g
        month = b.latest_month(MONTHS[name], int(year) if year else None)
        first = month.start.date()
        last_day = (month.full_end - timedelta(days=1)).date()
        if which in {"last", "final"}:
            lo = last_day - timedelta(days=6)
        else:
            index = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2}
            lo = first + timedelta(days=7 * index.get(which, 3))
        hi = min(lo + timedelta(days=6), last_day)
        label = f"the {which} week of {month.label}"
        return replace(b.between(b.day(lo), b.day(hi)), label=label)
    if kind == "week_number":
        year_text, week_text, bare = g
        number = int(week_text or bare)
        year = int(year_text) if year_text else b.today.isocalendar().year
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            weeks = date(year, 12, 28).isocalendar().week
            raise PeriodError(
                f"Week {number} is not a week of that year: {year} has {weeks} weeks."
            ) from exc
        if not year_text and monday > b.today:
            monday = date.fromisocalendar(year - 1, number, 1)
        return b.week_of(monday)
    if kind == "month_name":
        prefix, name, year = g
        if name == "may" and prefix not in {"in", "during", "for", "of", "since", "last", "this"}:
            if not year:
                return None  # the verb "may", not the month
        month = month_number(name)
        if prefix == "this" and not year:
            return b.month(b.today.year, month)
        if prefix == "last" and not year:
            # "last March" while it is March means a year ago.
            year_of = b.today.year if month < b.today.month else b.today.year - 1
            return b.month(year_of, month)
        return b.latest_month(month, int(year) if year else None)
    if kind == "year":
        return b.year(int(g[0]))
    if kind == "ytd":
        return b.year(b.today.year, "this year")
    raise AssertionError(kind)

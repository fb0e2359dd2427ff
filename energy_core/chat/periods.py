"""Periods in words ("yesterday", "last week", "in October", "last 3 days", "on Monday",
"2026-03-05", "at night") turned into exact half-open ranges in the user's timezone.

Both engines use it: the offline analyst on the whole question, the tools on the ``period``
argument a model may pass. Ranges never reach past ``now``; a period that has not started yet is
an error the user can act on, not an empty answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from energy_core.chat.period_builder import PeriodBuilder, build_period
from energy_core.chat.period_words import (
    PATTERNS,
    TIME_OF_DAY_PATTERNS,
    WEEKDAY_NAMES,
)
from energy_core.stats.period import (
    TIMES_OF_DAY,
    Period,
    PeriodError,
    describe_range,
    hours_of,
    last_days_period,
    local_midnight,
)


@dataclass(frozen=True)
class PeriodMention:
    """A period found in a sentence, with where it was found."""

    period: Period
    span: tuple[int, int]
    kind: str = ""
    note: str | None = None  # e.g. a weekday that does not fit the date it came with


def find_periods(text: str, *, now: datetime, timezone: str) -> list[PeriodMention]:
    """Every period named in ``text`` (lower-cased), in order of appearance.

    "since X" becomes X until now; "from X to Y" / "between X and Y" becomes one range. A part of
    the day ("at night") applies to every period found, or to the last 7 days when none is.
    """
    b = PeriodBuilder(now=now, tz=ZoneInfo(timezone))
    text = text.lower()
    claimed = [False] * len(text)
    found: list[PeriodMention] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            lo, hi = match.span()
            if any(claimed[lo:hi]):
                continue
            period = build_period(kind, match, b)
            if period is None:
                continue
            for i in range(lo, hi):
                claimed[i] = True
            found.append(PeriodMention(period, (lo, hi), kind))
    found.sort(key=lambda m: m.span[0])
    found = _date_beats_weekday(text, found)
    found = _combine_ranges(text, found, b)
    return found


_DATE_KINDS = {"iso_date", "numeric_date", "day_month", "month_day", "nth"}
_DAY_KINDS = _DATE_KINDS | {"holiday"}


def _date_beats_weekday(text: str, found: list[PeriodMention]) -> list[PeriodMention]:
    """ "Sunday 22 November", "Monday the 12th": the date is the day; the weekday only says
    which day of the week it is (and a wrong one is pointed out, not obeyed)."""
    out: list[PeriodMention] = []
    skip = set()
    for i, mention in enumerate(found):
        if i in skip:
            continue
        for j in (i - 1, i + 1):
            if j < 0 or j >= len(found) or j in skip:
                continue
            other = found[j]
            if mention.kind != "weekday" or other.kind not in _DATE_KINDS:
                continue
            lo, hi = sorted((mention.span, other.span))
            if not re.fullmatch(r"[\s,]*(?:the\s*|of\s*)?", text[lo[1] : hi[0]]):
                continue
            said = re.search(rf"({WEEKDAY_NAMES})", text[mention.span[0] : mention.span[1]])
            actual = other.period.start.strftime("%A").lower()
            note = None
            if said and said.group(1) != actual:
                note = (
                    f"You said {said.group(1).capitalize()}, but {other.period.label} is a "
                    f"{actual.capitalize()}; I went by the date."
                )
            merged = PeriodMention(other.period, (lo[0], hi[1]), other.kind, note)
            if j < i:
                out[-1] = merged
            else:
                out.append(merged)
                skip.add(j)
            break
        else:
            out.append(mention)
    return out


def _combine_ranges(text: str, found: list[PeriodMention], b: PeriodBuilder) -> list[PeriodMention]:
    out: list[PeriodMention] = []
    i = 0
    while i < len(found):
        mention = found[i]
        before = text[: mention.span[0]]
        if mention.kind in _DATE_KINDS and re.search(
            r"\bweek\s+(?:of|starting|beginning|commencing)\s+(?:on\s+)?(?:the\s+)?$", before
        ):
            # "the week of 16 November": the week (Monday to Sunday) that holds the day.
            out.append(PeriodMention(b.week_of(mention.period.start.date()), mention.span))
            i += 1
            continue
        if re.search(r"\bsince\s+(?:the\s+)?$|\bsince$", before):
            out.append(PeriodMention(b.since(mention.period), mention.span))
            i += 1
            continue
        if i + 1 < len(found):
            nxt = found[i + 1]
            between = text[mention.span[1] : nxt.span[0]]
            opens_range = re.search(r"\b(from|between)\s+(?:the\s+)?$", before) or (
                # "Christmas to New Year", "20 Dec to 3 Jan": two days with "to" between them
                # are a range without "from" (unless they are compared).
                mention.kind in _DAY_KINDS
                and nxt.kind in _DAY_KINDS
                and re.fullmatch(r"\s*(to|until|till|through|thru|-)\s*(the\s+)?", between)
                and not re.search(r"\bcompar|\bvs\b|\bversus\b|\bagainst\b", before)
            )
            if opens_range and re.fullmatch(
                r"\s*(to|until|till|through|thru|and|-)\s*(the\s+)?", between
            ):
                span = (mention.span[0], nxt.span[1])
                first = mention.period
                if mention.kind == "nth" and nxt.kind in _DATE_KINDS - {"nth"}:
                    # "from the 1st to the 7th of November": the month is said once, at the end.
                    last = nxt.period.start
                    try:
                        first = b.day(date(last.year, last.month, first.start.day))
                    except ValueError as exc:
                        raise PeriodError(f"There is no such date: {exc}.") from exc
                if (
                    nxt.period.full_end <= first.start
                    and first.length == 1
                    and not re.search(r"\d{4}", text[mention.span[0] : mention.span[1]])
                ):
                    # "from 20 December to 3 January" said in December: the December before.
                    day = first.start.date()
                    first = b.day(day.replace(year=day.year - 1))
                out.append(PeriodMention(b.between(first, nxt.period), span))
                i += 2
                continue
        out.append(mention)
        i += 1
    return out


def night_after(
    mention: PeriodMention, text: str, *, now: datetime, timezone: str
) -> Period | None:
    """ "Saturday night", "Monday night": the night that begins that day (22:00 to 06:00 the
    next morning), not that day's night hours (which hold the night before's end)."""
    period = mention.period
    if period.kind != "day" or period.length != 1:
        return None
    if not re.match(r"\s+night\b", text[mention.span[1] :]):
        return None
    b = PeriodBuilder(now=now, tz=ZoneInfo(timezone))
    day = period.start.astimezone(b.tz).date()
    return b.night_of(day, f"{day:%A} night, {day:%-d %B %Y}")


def find_time_of_day(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """The part of the day named in ``text`` ("at night", "in the evening"), if any."""
    text = text.lower()
    for name, pattern in TIME_OF_DAY_PATTERNS:
        match = pattern.search(text)
        if match:
            return name, match.span()
    return None, None


def find_times_of_day(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Every part of the day named in ``text``, in order ("mornings versus evenings")."""
    text = text.lower()
    found = [
        (name, match.span())
        for name, pattern in TIME_OF_DAY_PATTERNS
        for match in pattern.finditer(text)
    ]
    return sorted(found, key=lambda f: f[1][0])


def parse_period(text: str, *, now: datetime, timezone: str) -> Period:
    """Exactly one period from a short phrase such as a tool's ``period`` argument."""
    mentions = find_periods(text, now=now, timezone=timezone)
    time_of_day, _ = find_time_of_day(text)
    if len(mentions) != 1:
        if not mentions and time_of_day:
            return with_time_of_day(default_period(now=now, timezone=timezone), time_of_day)
        raise PeriodError(
            f"I could not read one period from {text!r}. Use words like 'yesterday', "
            "'last week', 'this month', 'October 2025', 'last 7 days' or a date like 2026-03-05."
        )
    night = night_after(mentions[0], text.lower(), now=now, timezone=timezone)
    if night is not None:
        return night  # "Saturday night": that night, as the offline analyst reads it
    period = mentions[0].period
    return with_time_of_day(period, time_of_day) if time_of_day else period


def default_period(*, now: datetime, timezone: str) -> Period:
    """The range used when a question names none: the last 7 days."""
    return last_days_period(7, now=now, timezone=timezone)


def with_time_of_day(period: Period, time_of_day: str | None) -> Period:
    return period.with_time_of_day(time_of_day)


def explicit_period(
    start: datetime, end: datetime, *, now: datetime, timezone: str, label: str | None = None
) -> Period:
    """A period from two instants (clipped to ``now``); from a midnight to a midnight, whole local
    days."""
    tz = ZoneInfo(timezone)
    start, end = start.astimezone(tz), end.astimezone(tz)
    if end <= start:
        raise PeriodError("The end of the range must be after its start.")
    if start >= now:
        raise PeriodError("That range has not started yet, so there is no data for it.")
    label = label or describe_range(start, end)
    kind, length = "rolling", 1
    if start == local_midnight(start.date(), tz) and end == local_midnight(end.date(), tz):
        # Whole local days: the period before is as many days before, as for a page's range
        # of dates (two days across a clock change have 47 hours; the two before have 48).
        kind, length = "day", (end.date() - start.date()).days
    return Period(
        start=start,
        end=min(end, now.astimezone(tz)),
        label=label,
        kind=kind,
        length=length,
        full_end=end,
    )


__all__ = [
    "Period",
    "PeriodError",
    "PeriodMention",
    "TIMES_OF_DAY",
    "default_period",
    "describe_range",
    "explicit_period",
    "find_periods",
    "find_time_of_day",
    "find_times_of_day",
    "hours_of",
    "parse_period",
    "with_time_of_day",
]

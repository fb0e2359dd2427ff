"""Clock times in a question: "between 9 and 5", "6 to 9pm", "midnight", read as the hours
they name, as a part of the day, or as a range cut from one named day."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from energy_core.chat.periods import Period, PeriodError
from energy_core.chat.tools import ToolContext
from energy_core.chat.understand_text import rx
from energy_core.stats import TIMES_OF_DAY
from energy_core.stats.period import local_midnight

CLOCK = rx(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*(?:to|-|and|until|till)\s*"
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|"
    r"\b(\d{1,2}):(\d{2})()\s*(?:to|-|and|until|till)\s*(\d{1,2}):(\d{2})()(?![\d:])|"
    r"\b\d{1,2}(:\d{2})?\s*(am|pm)\b|\b\d{1,2}:\d{2}\b"
)


# "between 5 and 7 in the mornings": hours without am or pm, which the part of the day gives.
BARE_HOURS = rx(
    r"\b(between|from)\s+(\d{1,2})\s*(and|to|-|until|till)\s*(\d{1,2})\s+"
    r"(?:in\s+the\s+|during\s+the\s+|on\s+)?(mornings?|afternoons?|evenings?)\b"
)


# "between 9 and 5": working hours, the first in the morning and the second after noon.
WORKING_HOURS = rx(
    r"\b(between|from)\s+(\d{1,2})\s*(and|to|-|until|till)\s*(\d{1,2})\b"
    r"(?!\s*(?:am|pm|:|\d|kw|w\b|wh|%|days?|weeks?|hours?|months?|st|nd|rd|th|of)\b)"
    r"(?!\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
)


def working_hours(match: re.Match[str]) -> str:
    """ "between 9 and 5" is 9am to 5pm; "between 14 and 16" is on the 24-hour clock; "between
    2 and 4" is left as it is (morning or afternoon: asked back)."""
    first, last = int(match.group(2)), int(match.group(4))
    if 1 <= last < first <= 12:
        return f"{match.group(1)} {first}am {match.group(3)} {last}pm"
    if max(first, last) > 12 and max(first, last) <= 24:
        return f"{match.group(1)} {first:02d}:00 {match.group(3)} {last:02d}:00"
    return match.group(0)


def with_meridiem(match: re.Match[str]) -> str:
    meridiem = "am" if match.group(5).startswith("morning") else "pm"
    word, first, joint, last = match.group(1, 2, 3, 4)
    return f"{word} {first}{meridiem} {joint} {last}{meridiem}"


# Midnight and noon as the ends of a range of clock times ("between midnight and 6am").
CLOCK_WORDS = rx(
    r"\b(midnight|noon|midday)(?=\s*(?:to|-|and|until|till)\s*\d)|"
    r"(?<=\d)(\s*(?:am|pm)?\s*(?:to|-|and|until|till)\s*)(midnight|noon|midday)\b"
)


def clock_word(match: re.Match[str]) -> str:
    """ "midnight" as "12am", padded to the word's length: the periods' positions, found before,
    still point at the same words (a shorter text shifted them onto a device's name)."""
    word = {"midnight": "12am", "noon": "12pm", "midday": "12pm"}
    if match.group(1):
        clock = word[match.group(1).lower()]
    else:
        clock = match.group(2) + word[match.group(3).lower()]
    return clock.ljust(len(match.group(0)))


def _clock_ends(match: re.Match[str]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two ends of a range of clock times as (hour, minute), the first of a range such as
    "6 to 9pm" taking the second's am or pm (unless that puts it after the second); None for a
    single time or a time that is not one."""
    g = match.groups()
    if g[0] is not None and g[3] is not None:
        h1, m1, a1, h2, m2, a2 = g[:6]
    elif g[6] is not None:
        h1, m1, a1, h2, m2, a2 = g[6:12]
    else:
        # One time on the hour ("at 7pm", "at 19:00"): the hour it begins.
        single = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", match.group(0).strip())
        if single is None or single.group(2) not in (None, "00"):
            return None
        hour = int(single.group(1))
        if hour > 24 or (single.group(3) and not 1 <= hour <= 12):
            return None
        hour = {"pm": hour % 12 + 12, "am": hour % 12}.get(single.group(3) or "", hour) % 24
        return (hour, 0), (hour + 1, 0)
    h1, h2, m1, m2 = int(h1), int(h2), int(m1 or 0), int(m2 or 0)
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        return None

    def hour(h: int, meridiem: str | None) -> int:
        if meridiem and h > 12:
            return -1
        if meridiem == "pm" and h < 12:
            return h + 12
        if meridiem == "am" and h == 12:
            return 0
        return h

    last = hour(h2, a2 or None)
    first = hour(h1, a1 or a2 or None)
    if not a1 and a2 == "pm" and first > last > 0:
        first = hour(h1, "am")  # "10 to 2pm" is 10am to 2pm
    if first < 0 or last < 0:
        return None
    return (first, m1), (last, m2)


def whole_clock_hours(match: re.Match[str]) -> str | None:
    """Clock times that are whole hours as a range of hours "HH-HH" ("7am to 9am" is "07-09"),
    or None (minutes, a single time, or not a time)."""
    ends = _clock_ends(match)
    if ends is None or ends[0][1] or ends[1][1]:
        return None
    first, last = ends[0][0] % 24, ends[1][0] % 24
    if first == last:
        return None
    return f"{first:02d}-{last if last else 24:02d}"


def clock_range(match: re.Match[str]) -> str | None:
    """The part of the day that clock times name exactly ("6pm to 10pm" is the evening), or
    None: figures are kept per hour of the day only for those parts."""
    ends = _clock_ends(match)
    if ends is None or ends[0][1] or ends[1][1]:
        return None
    first, last = ends[0][0] % 24, ends[1][0] % 24
    for name, (lo, hi) in TIMES_OF_DAY.items():
        if (first, last) == (lo, hi):
            return {"night": "at night"}.get(name, f"in the {name}")
    return None


def within_the_day(match: re.Match[str], mentions: list, ctx: ToolContext) -> Period | None:
    """Clock times on one named day ("between 6 and 9 pm yesterday") as the range they cut from
    it; None when there is not exactly one whole day to cut them from (across several days a
    figure can be narrowed only to the parts of the day)."""
    ends = _clock_ends(match)
    if ends is None or len(mentions) != 1:
        return None
    day = mentions[0].period
    tz = ZoneInfo(ctx.timezone)
    local = day.start.astimezone(tz)
    if day.kind != "day" or day.length != 1 or local.hour or local.minute:
        return None
    (h1, m1), (h2, m2) = ends
    start = local_midnight(local.date(), tz) + timedelta(hours=h1, minutes=m1)
    end = local_midnight(local.date(), tz) + timedelta(hours=h2, minutes=m2)
    start, end = start.astimezone(tz), end.astimezone(tz)
    if end <= start:
        end = (
            local_midnight(local.date(), tz) + timedelta(days=1, hours=h2, minutes=m2)
        ).astimezone(tz)
    label = f"{day.label}, {start:%H:%M}-{end:%H:%M}"
    if start >= ctx.now:
        raise PeriodError(
            f"{label[:1].upper()}{label[1:]} has not started yet, so there is no data for it."
        )
    return Period(
        start=start,
        end=min(end, ctx.now.astimezone(tz)),
        label=label,
        kind="rolling",
        full_end=end,
    )

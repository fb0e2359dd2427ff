"""How the offline analyst writes figures and periods: kWh, watts, money, dates and the phrase
for a call's range, and the notes that go with a figure (low coverage, no data)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from energy_core.chat.periods import describe_range
from energy_core.chat.question import Target
from energy_core.chat.render import escape_markdown
from energy_core.chat.toolbase import ToolCall
from energy_core.stats import DeviceRef
from energy_core.stats.period import days_words, weekdays_of
from energy_core.units import format_money, format_power, format_price

LOW_COVERAGE = 0.95


def kwh(wh: float) -> str:
    value = wh / 1000.0
    return f"{value:,.2f} kWh" if abs(value) < 100 else f"{value:,.1f} kWh"


def watts(w: float) -> str:
    # As the pages and alerts write power: "542 W", "1.12 kW" (it said "1,120 W").
    return format_power(w)


def money(amount: float, currency: str) -> str:
    # As the pages, alerts and the CLI write it: "£12.30", "-£0.40", "12.30 SEK".
    return format_money(amount, currency)


def price(per_kwh: float, currency: str) -> str:
    # As the Tariffs page writes a price: "£0.28/kWh", "£0.185/kWh" (not rounded to the penny).
    return format_price(per_kwh, currency)


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def names(devices: list[dict[str, Any]] | list[DeviceRef]) -> str:
    return listing([d["name"] if isinstance(d, dict) else d.name for d in devices], "no device")


def listing(words: list[str], empty: str = "nothing", *, escape: bool = True) -> str:
    """ "a", "a and b", "a, b and c" (each escaped as Markdown unless ``escape`` is off)."""
    out = [escape_markdown(w) if escape else w for w in words]
    if len(out) <= 1:
        return out[0] if out else empty
    return ", ".join(out[:-1]) + " and " + out[-1]


def clock(iso: str) -> str:
    """A reading's local time: "Mon 30 Nov 18:42"."""
    return f"{local_time(iso):%a %-d %b %H:%M}"


def hour_ranges(hours: list[int], *, across_midnight: bool = True) -> str:
    """Hours of the day as ranges: [1, 2, 3, 18] -> "01:00-04:00 and 18:00-19:00"; every hour
    is "all day" (never the empty-looking "00:00-00:00")."""
    if set(hours) >= set(range(24)):
        return "all day"
    spans: list[list[int]] = []
    for hour in sorted(hours):
        if spans and hour == spans[-1][1]:
            spans[-1][1] = hour + 1
        else:
            spans.append([hour, hour + 1])
    if across_midnight and len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == 24:
        spans[0][0] = spans.pop()[0]  # a range across midnight
    return listing([f"{a % 24:02d}:00-{b % 24:02d}:00" for a, b in spans], escape=False)


def scope(target: Target) -> str:
    """The selection in words: "your household", "the Heat pump", "the Kitchen"."""
    if target.rooms and not target.devices:
        return "the " + " and the ".join(escape_markdown(r) for r in target.rooms)
    if target.devices:
        return "the " + names(list(target.devices))
    return "your household"


_NO_PREPOSITION = re.compile(r"^(today|yesterday|the day before yesterday|last |this |since )")
_DAY_LABEL = re.compile(r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) ")


def when(evidence: dict[str, Any] | None, key: str = "range") -> str:
    """The range of a call as a phrase that fits after a verb: "last week (Mon 30 Mar - ...)",
    "in March 2026 (...)", "on Thursday 5 March 2026"."""
    if not evidence or not evidence.get(key):
        return ""
    span = evidence[key]
    label = span["label"].lower()
    description = span["description"]
    if _NO_PREPOSITION.match(label):
        return description
    if " to " in label:
        return "from " + description
    if _DAY_LABEL.match(label):
        return "on " + description
    return "in " + description


_MONTH_LABEL = re.compile(
    r"^(january|february|march|april|may|june|july|august|september|october|november|"
    r"december) \d{4}$"
)


def adverbial(label: str) -> str:
    """A period's label as it stands after "more" or "than": "on Saturday 28 November 2026",
    "in November 2026", "last week"."""
    if _DAY_LABEL.match(label.lower()):
        return "on " + label
    if _MONTH_LABEL.match(label.lower()):
        return "in " + label
    return label


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def coverage_note(coverage: float | None) -> str:
    if coverage is None or coverage >= LOW_COVERAGE:
        return ""
    return (
        f" Readings cover only {percent(coverage)} of that time; gaps count as unknown, not "
        "zero, so the real figure is probably higher."
    )


def kwh_or_none(wh: float | None) -> str:
    return "no data" if wh is None else kwh(wh)


def percent_or_none(share: float | None) -> str:
    return "no data" if share is None else percent(share)


def used(side: dict[str, Any]) -> str:
    """A comparison side's consumption and its daily average, or that it has no data."""
    if side["consumption_wh"] is None:
        return "no data"
    return f"**{kwh(side['consumption_wh'])}** ({kwh(side['per_day_wh'])} a day)"


def _has_days(span: dict[str, Any], days: str) -> bool:
    """Whether the range of ``span`` holds a local day of ``days`` (weekdays or weekends)."""
    wanted = weekdays_of(days) or frozenset()
    day = local_time(span["start"]).date()
    while datetime.combine(day, datetime.min.time()) < local_time(span["end"]).replace(tzinfo=None):
        if day.weekday() in wanted:
            return True
        day += timedelta(days=1)
    return False


def no_data(scope: str, call: ToolCall) -> str:
    days = call.arguments.get("days")
    span = (call.evidence or {}).get("range")
    if days and span and not _has_days(span, days):
        said = days_words(days)
        asked = when(call.evidence).replace(f", {said} only", "")
        one = f"{said[:-1]} day" if days in ("weekdays", "weekends") else said[:-1]
        return (
            f"There is no {one} in {asked}, so there is no figure of {scope} on {said} there. "
            f"Ask about a range that has some, e.g. 'on {said} last month'."
        )
    return (
        f"I have no readings for {scope} {when(call.evidence)}, so I cannot give a figure. "
        "Try a period with data, e.g. 'yesterday' or 'last week'."
    )


def local_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def period_name(row: dict[str, Any], granularity: str, tz: ZoneInfo | None = None) -> str:
    """A row of a breakdown in words; ``tz``, the household's zone, puts both ends in it (a week
    across a clock change ends at midnight, not at 01:00 in the offset it started with)."""
    start, end = local_time(row["start"]), local_time(row["end"])
    if tz is not None:
        start, end = start.astimezone(tz), end.astimezone(tz)
    if granularity == "hour":
        return f"{start:%a %-d %b} {start:%H:%M}-{end:%H:%M}"
    if granularity == "day":
        return f"{start:%A %-d %B %Y}"
    if granularity == "week":
        return f"the week {describe_range(start, end)}"
    return f"{start:%B %Y}"

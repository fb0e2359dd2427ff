"""Numbers as people read them: W/kW, Wh/kWh/MWh, money, shares, durations and times in the
user's timezone. Display only; figures themselves come from energy_core. Money, prices and power
are written by energy_core.units, which alerts, e-mails, the CLI and chat answers share."""

from __future__ import annotations

import math
import re
from datetime import datetime, tzinfo

import pandas as pd

# Written by energy_core, as alerts, e-mails, the CLI and chat answers write them.
from energy_core.units import DASH as DASH
from energy_core.units import currency_symbol as currency_symbol
from energy_core.units import format_money as format_money
from energy_core.units import format_power as format_power
from energy_core.units import format_price as format_price

# Offered by the Account page; any three-letter code can be stored.
CURRENCIES = (
    "EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
    "AUD", "CAD", "NZD", "JPY", "INR", "ZAR", "BRL",
)  # fmt: skip
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The units a figure is shown in, by the unit the glossary and the read API give it in.
SHOWN_UNITS = {"W": ("W", "kW"), "Wh": ("Wh", "kWh", "MWh")}


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def in_unit(words: str, unit: str) -> str:
    """The glossary's ``words`` for a figure shown in ``unit`` (kW, kWh...): they say "in W" or
    "in Wh" (the read API's unit), which reads wrong beside a figure or an axis in kW or kWh.
    Words about the other quantity (power beside energy) are left as they are."""
    base = next((b for b, units in SHOWN_UNITS.items() if unit in units), None)
    return words if base is None else re.sub(rf"\bin {base}\b", f"in {unit}", words)


def shown_in(words: str, shown: str) -> str:
    """``words`` (a help text) beside the figure ``shown`` ("1.64 kW"), in its unit."""
    return in_unit(words, shown.rpartition(" ")[2]) if " " in shown else words


def format_energy(energy_wh: float | None) -> str:
    if missing(energy_wh):
        return DASH
    if abs(energy_wh) >= 1_000_000:
        return f"{energy_wh / 1_000_000:,.2f} MWh"
    if abs(energy_wh) >= 100_000:
        return f"{energy_wh / 1000:,.0f} kWh"
    if abs(energy_wh) >= 1000:
        return (
            f"{energy_wh / 1000:,.1f} kWh"
            if abs(energy_wh) >= 10_000
            else (f"{energy_wh / 1000:,.2f} kWh")
        )
    return f"{energy_wh:,.0f} Wh"


def format_share(share: float | None, *, digits: int = 0) -> str:
    if missing(share):
        return DASH
    return f"{share * 100:.{digits}f}%"


def format_change(ratio: float | None) -> str:
    if missing(ratio):
        return DASH
    percent = round(ratio * 100)
    return "0%" if percent == 0 else f"{percent:+d}%"


def format_duration(seconds: float | None) -> str:
    """ "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    if missing(seconds):
        return DASH
    seconds = max(float(seconds), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_type(kind: str) -> str:
    words = [word.upper() if len(word) <= 2 else word for word in kind.replace("_", " ").split()]
    if not words:
        return ""
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def format_when(at: datetime | None, *, tz: tzinfo, now: datetime | None = None) -> str:
    """A local date and time, shortened when it is today or this year."""
    if missing(at):
        return DASH
    local = at.astimezone(tz)
    local_now = (now or datetime.now(tz)).astimezone(tz)
    if local.date() == local_now.date():
        return f"{local:%H:%M}"
    if local.year == local_now.year:
        return f"{local:%d %b %H:%M}"
    return f"{local:%d %b %Y %H:%M}"


def format_last_seen(at: datetime | None, *, now: datetime, tz: tzinfo) -> str:
    """ "3 min ago · 14:02" (the absolute part gains the date when it is not today)."""
    if missing(at):
        return "never"
    seconds = max((now - at).total_seconds(), 0)
    if seconds < 60:
        relative = "just now"
    elif seconds < 3600:
        relative = f"{int(seconds // 60)} min ago"
    elif seconds < 86_400:
        relative = f"{int(seconds // 3600)} h ago"
    else:
        days = int(seconds // 86_400)
        relative = f"{days} day{'s' if days > 1 else ''} ago"
    return f"{relative} · {format_when(at, tz=tz, now=now)}"


def format_range(start: datetime, end: datetime, *, tz: tzinfo) -> str:
    """ "1 Mar – 31 Mar 2026", "Today 00:00 – 14:35": the end is exclusive, so a range of whole
    days is shown by its last day."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    # An empty range (today in its first minute) is no whole day: it would read backwards.
    whole_days = end > start and start.time() == end.time() == datetime.min.time()
    if whole_days:
        last = (end - pd.Timedelta(days=1)).date()
        if last == start.date():
            return f"{start:%a %d %b %Y}"
        first = f"{start:%d %b}" if start.year == last.year else f"{start:%d %b %Y}"
        return f"{first} – {last:%d %b %Y}"
    if start.date() == end.date():
        return f"{start:%a %d %b %Y}, {start:%H:%M} – {end:%H:%M}"
    if start.year == end.year:
        return f"{start:%d %b %H:%M} – {end:%d %b %H:%M} {end.year}"
    return f"{start:%d %b %Y %H:%M} – {end:%d %b %Y %H:%M}"


def markdown_literal(text: str) -> str:
    """``text`` shown as typed: stored names and emails are not Markdown."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~<>$:" else c for c in text)


def format_key_dates(keys: pd.DataFrame, *, tz: tzinfo, now: datetime) -> dict[str, pd.Series]:
    """The columns of an API key table that say when a key was made, last used and revoked."""
    return {
        "Created": keys["created_at"].map(lambda at: format_when(at, tz=tz, now=now)),
        "Last used": keys["last_used_at"].map(lambda at: format_last_seen(at, now=now, tz=tz)),
        "Status": keys["revoked_at"].map(
            lambda at: "Live" if pd.isna(at) else f"Revoked {format_when(at, tz=tz, now=now)}"
        ),
    }


def live_key_labels(keys: pd.DataFrame) -> dict[int, str]:
    """The live keys of an API key table by id, each as its visible prefix and its name
    (``ab12cd_… · fridge ingest``): the choices of a page that rotates or revokes keys."""
    live = keys[keys["revoked_at"].isna()]
    return dict(zip(live["id"], live["prefix"] + "_… · " + live["name"], strict=True))

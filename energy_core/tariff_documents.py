"""A tariff document (docs/tariffs.md) checked and put in its canonical form: every problem is
named with the field it is in, so a person can correct the file in one go."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from energy_core.errors import CoreError
from energy_core.stats.money import WEEKDAYS

TOP_KEYS = {
    "currency",
    "valid_from",
    "standing_charge_per_day",
    "tax_percent",
    "billing_day",
    "import",
    "export",
}
RATE_KEYS = {"default", "periods", "series", "tiers"}
PERIOD_FIELDS = ("days", "from", "to", "price")
TIER_KEYS = {"per", "bands"}
BAND_FIELDS = ("up_to_kwh", "price")
TIER_COUNTS = ("day", "billing_period")
MAX_BANDS = 10
MAX_TIER_KWH = 100_000.0
MAX_PRICE = 1000.0
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class TariffError(CoreError, ValueError):
    """A tariff document or price file that breaks a rule; ``details`` name each problem."""

    code = "invalid_tariff"


def add_problem(problems: list[dict], where: str, message: str) -> None:
    problems.append({"field": where, "message": message})


def _unknown_fields(
    problems: list[dict], where: str, value: Mapping, known: frozenset[str] | set[str], what: str
) -> None:
    for key in sorted(set(value) - known):
        add_problem(problems, f"{where}.{key}" if where else key, f"is not a field of {what}")


def _objects(
    problems: list[dict], where: str, items: list, *, name: str, fields: tuple[str, ...]
) -> Iterator[tuple[str, Mapping]]:
    """Each item of ``items`` that is an object, with where it stands (``where[i]``); an item
    that is not an object of ``fields``, or a field not among them, is a problem."""
    shape = "{" + ", ".join(f'"{field}"' for field in fields) + "}"
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            add_problem(problems, here, f"must be an object {shape}")
            continue
        _unknown_fields(problems, here, item, set(fields), f"a {name} ({', '.join(fields)})")
        yield here, item


def _number(problems, where, value, *, low=0.0, high=MAX_PRICE, required=True) -> float:
    if value is None and not required:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        add_problem(problems, where, "must be a number")
        return 0.0
    if not low <= value <= high:
        add_problem(problems, where, f"must be between {low:g} and {high:g}")
    return float(value)


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri``, ``sat,sun``, ``fri-mon`` (wrapping), ``all`` or ``every day``."""
    cleaned = text.strip().lower()
    if cleaned in {"all", "every day", "daily"}:
        return frozenset(range(7))
    days: set[int] = set()
    for part in cleaned.split(","):
        bounds = [p.strip()[:3] for p in part.split("-")]
        if not 1 <= len(bounds) <= 2 or any(b not in WEEKDAYS for b in bounds):
            raise ValueError(f"{text!r} is not a set of weekdays such as mon-fri or sat,sun")
        lo, hi = WEEKDAYS.index(bounds[0]), WEEKDAYS.index(bounds[-1])
        days.update((lo + i) % 7 for i in range((hi - lo) % 7 + 1))
    return frozenset(days)


def _minutes(problems, where, value) -> int:
    match = _TIME.match(value) if isinstance(value, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if match is None or minutes > 24 * 60:
        add_problem(problems, where, "must be a local time HH:MM (00:00 to 24:00)")
        return 0
    return minutes


def _rates(problems: list[dict], where: str, value: Any, *, required: bool) -> dict:
    if value is None and not required:
        return {"default": 0.0, "periods": [], "series": False}
    if not isinstance(value, Mapping):
        add_problem(problems, where, 'must be an object such as {"default": 0.28}')
        return {"default": 0.0, "periods": [], "series": False}
    _unknown_fields(problems, where, value, RATE_KEYS, "a price (default, periods, series, tiers)")
    out = {
        "default": _number(problems, f"{where}.default", value.get("default")),
        "periods": [],
        "series": value.get("series", False),
    }
    if "tiers" in value:
        if where == "import":
            out["tiers"] = _tiers(problems, f"{where}.tiers", value["tiers"])
        else:
            add_problem(problems, f"{where}.tiers", "tiers are for import prices only")
    if not isinstance(out["series"], bool):
        add_problem(problems, f"{where}.series", "must be true or false")
    periods = value.get("periods", [])
    if not isinstance(periods, list):
        add_problem(problems, f"{where}.periods", "must be a list")
        periods = []
    for here, period in _objects(
        problems, f"{where}.periods", periods, name="period", fields=PERIOD_FIELDS
    ):
        for key in sorted(set(PERIOD_FIELDS) - set(period)):
            add_problem(problems, f"{here}.{key}", "is required")
        days = period.get("days", "all")
        try:
            parse_days(days if isinstance(days, str) else "")
        except ValueError as exc:
            add_problem(problems, f"{here}.days", str(exc))
        start = _minutes(problems, f"{here}.from", period.get("from"))
        end = _minutes(problems, f"{here}.to", period.get("to"))
        if start == end and "from" in period and "to" in period:
            add_problem(problems, here, "from and to are the same time: the period is empty")
        out["periods"].append(
            {
                "days": days,
                "from": period.get("from"),
                "to": period.get("to"),
                "price": _number(problems, f"{here}.price", period.get("price")),
            }
        )
    return out


def _tiers(problems: list[dict], where: str, value: Any) -> dict:
    """``{"per": "day", "bands": [{"up_to_kwh": 8, "price": 0.2}, ...]}``: limits rising."""
    if not isinstance(value, Mapping):
        add_problem(
            problems,
            where,
            'must be an object such as {"per": "day", "bands": [{"up_to_kwh": 8, "price": 0.2}]}',
        )
        return {"per": "day", "bands": []}
    _unknown_fields(problems, where, value, TIER_KEYS, "tiers (per, bands)")
    per = value.get("per")
    if per not in TIER_COUNTS:
        add_problem(
            problems, f"{where}.per", "must be day or billing_period (what the count restarts)"
        )
    bands = value.get("bands")
    if not isinstance(bands, list) or not 1 <= len(bands) <= MAX_BANDS:
        add_problem(problems, f"{where}.bands", f"must be a list of 1 to {MAX_BANDS} bands")
        bands = []
    out, below = [], 0.0
    for here, band in _objects(problems, f"{where}.bands", bands, name="band", fields=BAND_FIELDS):
        limit = _number(problems, f"{here}.up_to_kwh", band.get("up_to_kwh"), high=MAX_TIER_KWH)
        if limit <= below:
            add_problem(
                problems,
                f"{here}.up_to_kwh",
                f"must be more than {below:g} (the limit of the band before, or 0)",
            )
        below = max(below, limit)
        out.append(
            {"up_to_kwh": limit, "price": _number(problems, f"{here}.price", band.get("price"))}
        )
    return {"per": per, "bands": out}


def validate_tariff(document: Any) -> dict:
    """The document in its canonical form; ``TariffError`` naming every problem otherwise."""
    problems: list[dict] = []
    if not isinstance(document, Mapping):
        raise TariffError("A tariff is a JSON object (docs/tariffs.md).")
    _unknown_fields(problems, "", document, TOP_KEYS, "a tariff")
    currency = document.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        add_problem(problems, "currency", "must be a three-letter currency code such as GBP")
        currency = ""
    valid_from = document.get("valid_from")
    try:
        valid_from = date.fromisoformat(valid_from).isoformat()
    except (TypeError, ValueError):
        add_problem(problems, "valid_from", "must be a date YYYY-MM-DD (local midnight)")
    billing_day = document.get("billing_day", 1)
    if (
        isinstance(billing_day, bool)
        or not isinstance(billing_day, int)
        or not (1 <= billing_day <= 28)
    ):
        add_problem(problems, "billing_day", "must be a whole day of the month from 1 to 28")
    canonical = {
        "currency": currency.upper(),
        "valid_from": valid_from,
        "standing_charge_per_day": _number(
            problems,
            "standing_charge_per_day",
            document.get("standing_charge_per_day"),
            required=False,
        ),
        "tax_percent": _number(
            problems, "tax_percent", document.get("tax_percent"), high=100.0, required=False
        ),
        "billing_day": billing_day,
        "import": _rates(problems, "import", document.get("import"), required=True),
        "export": _rates(problems, "export", document.get("export"), required=False),
    }
    if problems:
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise TariffError(f"The tariff is not valid: {listed}.", problems)
    return canonical


def parse_tariff_text(text: str) -> dict:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise TariffError(f"The tariff is not JSON: {exc}.") from exc
    return validate_tariff(document)

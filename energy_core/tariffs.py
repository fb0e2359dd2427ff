"""Household tariffs (docs/tariffs.md): the JSON document, its validation, storage of the
effective-dated plans and imported price series, and the ``Tariff`` the read layer prices with.

``tariff_for`` is the only place a household's ``Tariff`` is built; every cost figure (pages, read
API, chat, CSV) goes through it via ``energy_core.stats.load_household``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from energy_core.errors import CoreError
from energy_core.models import TariffPlanRow, TariffPrice, User
from energy_core.stats.money import (
    WEEKDAYS,
    Plan,
    PriceSeries,
    Rates,
    StoredPrices,
    Tariff,
    Tiers,
    TimeOfUse,
)

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
DIRECTIONS = ("import", "export")
MAX_PRICE = 1000.0
MAX_SERIES_ROWS = 200_000
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class TariffError(CoreError, ValueError):
    """A tariff document or price file that breaks a rule; ``details`` name each problem."""

    code = "invalid_tariff"


def _problem(problems: list[dict], where: str, message: str) -> None:
    problems.append({"field": where, "message": message})


def _unknown_fields(
    problems: list[dict], where: str, value: Mapping, known: frozenset[str] | set[str], what: str
) -> None:
    for key in sorted(set(value) - known):
        _problem(problems, f"{where}.{key}" if where else key, f"is not a field of {what}")


def _objects(
    problems: list[dict], where: str, items: list, *, name: str, fields: tuple[str, ...]
) -> Iterator[tuple[str, Mapping]]:
    """Each item of ``items`` that is an object, with where it stands (``where[i]``); an item
    that is not an object of ``fields``, or a field not among them, is a problem."""
    shape = "{" + ", ".join(f'"{field}"' for field in fields) + "}"
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            _problem(problems, here, f"must be an object {shape}")
            continue
        _unknown_fields(problems, here, item, set(fields), f"a {name} ({', '.join(fields)})")
        yield here, item


def _number(problems, where, value, *, low=0.0, high=MAX_PRICE, required=True) -> float:
    if value is None and not required:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _problem(problems, where, "must be a number")
        return 0.0
    if not low <= value <= high:
        _problem(problems, where, f"must be between {low:g} and {high:g}")
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
        _problem(problems, where, "must be a local time HH:MM (00:00 to 24:00)")
        return 0
    return minutes


def _rates(problems: list[dict], where: str, value: Any, *, required: bool) -> dict:
    if value is None and not required:
        return {"default": 0.0, "periods": [], "series": False}
    if not isinstance(value, Mapping):
        _problem(problems, where, 'must be an object such as {"default": 0.28}')
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
            _problem(problems, f"{where}.tiers", "tiers are for import prices only")
    if not isinstance(out["series"], bool):
        _problem(problems, f"{where}.series", "must be true or false")
    periods = value.get("periods", [])
    if not isinstance(periods, list):
        _problem(problems, f"{where}.periods", "must be a list")
        periods = []
    for here, period in _objects(
        problems, f"{where}.periods", periods, name="period", fields=PERIOD_FIELDS
    ):
        for key in sorted(set(PERIOD_FIELDS) - set(period)):
            _problem(problems, f"{here}.{key}", "is required")
        days = period.get("days", "all")
        try:
            parse_days(days if isinstance(days, str) else "")
        except ValueError as exc:
            _problem(problems, f"{here}.days", str(exc))
        start = _minutes(problems, f"{here}.from", period.get("from"))
        end = _minutes(problems, f"{here}.to", period.get("to"))
        if start == end and "from" in period and "to" in period:
            _problem(problems, here, "from and to are the same time: the period is empty")
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
        _problem(
            problems,
            where,
            'must be an object such as {"per": "day", "bands": [{"up_to_kwh": 8, "price": 0.2}]}',
        )
        return {"per": "day", "bands": []}
    _unknown_fields(problems, where, value, TIER_KEYS, "tiers (per, bands)")
    per = value.get("per")
    if per not in TIER_COUNTS:
        _problem(
            problems, f"{where}.per", "must be day or billing_period (what the count restarts)"
        )
    bands = value.get("bands")
    if not isinstance(bands, list) or not 1 <= len(bands) <= MAX_BANDS:
        _problem(problems, f"{where}.bands", f"must be a list of 1 to {MAX_BANDS} bands")
        bands = []
    out, below = [], 0.0
    for here, band in _objects(problems, f"{where}.bands", bands, name="band", fields=BAND_FIELDS):
        limit = _number(problems, f"{here}.up_to_kwh", band.get("up_to_kwh"), high=MAX_TIER_KWH)
        if limit <= below:
            _problem(
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
        _problem(problems, "currency", "must be a three-letter currency code such as GBP")
        currency = ""
    valid_from = document.get("valid_from")
    try:
        valid_from = date.fromisoformat(valid_from).isoformat()
    except (TypeError, ValueError):
        _problem(problems, "valid_from", "must be a date YYYY-MM-DD (local midnight)")
    billing_day = document.get("billing_day", 1)
    if (
        isinstance(billing_day, bool)
        or not isinstance(billing_day, int)
        or not (1 <= billing_day <= 28)
    ):
        _problem(problems, "billing_day", "must be a whole day of the month from 1 to 28")
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


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _clock_minutes(text: str) -> int:
    return (int(text[:2]) * 60 + int(text[3:])) % (24 * 60)


def _plan(spec: dict, tz: ZoneInfo) -> Plan:
    def rates(value: dict) -> Rates:
        tiers = value.get("tiers")
        return Rates(
            tiers=Tiers(
                per=tiers["per"],
                limits_kwh=tuple(b["up_to_kwh"] for b in tiers["bands"]),
                prices=tuple(b["price"] for b in tiers["bands"]),
            )
            if tiers
            else None,
            default=value["default"],
            periods=tuple(
                TimeOfUse(
                    days=parse_days(p["days"]),
                    start_min=_clock_minutes(p["from"]),
                    end_min=_clock_minutes(p["to"]),
                    price=p["price"],
                )
                for p in value["periods"]
            ),
            series=value["series"],
        )

    valid_from = date.fromisoformat(spec["valid_from"])
    return Plan(
        valid_from=valid_from,
        starts_at=_local_midnight(valid_from, tz),
        currency=spec["currency"],
        import_rates=rates(spec["import"]),
        export_rates=rates(spec["export"]),
        standing_charge_per_day=spec["standing_charge_per_day"],
        tax_percent=spec["tax_percent"],
        billing_day=spec["billing_day"],
    )


def list_plans(session: Session, *, user_id: int) -> list[dict]:
    """The household's tariff documents, oldest first."""
    rows = session.exec(
        select(TariffPlanRow)
        .where(TariffPlanRow.user_id == user_id)
        .order_by(col(TariffPlanRow.valid_from))
    ).all()
    return [json.loads(row.spec) for row in rows]


def _stored_prices(session: Session, user_id: int, direction: str) -> StoredPrices:
    """The household's imported prices of one direction, read a window at a time."""

    def fetch(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime, float]]:
        # Two range reads on the primary key (user, direction, start): the prices starting in
        # the window, and the one running into it from before.
        mine = select(TariffPrice.starts_at, TariffPrice.ends_at, TariffPrice.price).where(
            TariffPrice.user_id == user_id, TariffPrice.direction == direction
        )
        before = session.exec(
            mine.where(col(TariffPrice.starts_at) < lo)
            .order_by(col(TariffPrice.starts_at).desc())
            .limit(1)
        ).all()
        inside = session.exec(
            mine.where(col(TariffPrice.starts_at) >= lo, col(TariffPrice.starts_at) < hi)
        ).all()
        return [(a, b, p) for a, b, p in [*before, *inside] if b > lo]

    return StoredPrices(fetch)


def build_tariff(
    user: User,
    specs: list[dict],
    *,
    now: datetime,
    series: Mapping[str, PriceSeries | StoredPrices] = {},
) -> Tariff:
    """A household's ``Tariff`` from its legacy flat price and its tariff documents."""
    if not specs:
        return Tariff(currency=user.currency, import_price_per_kwh=user.price_per_kwh)
    tz = ZoneInfo(user.timezone)
    plans = tuple(sorted((_plan(s, tz) for s in specs), key=lambda p: p.starts_at))
    current = next((p for p in reversed(plans) if p.starts_at <= now), plans[0])
    return Tariff(
        currency=current.currency,
        import_price_per_kwh=current.import_rates.default,
        export_price_per_kwh=current.export_rates.default,
        timezone=user.timezone,
        plans=plans,
        import_series=series.get("import", PriceSeries()),
        export_series=series.get("export", PriceSeries()),
        current=current,
        legacy_import_price=user.price_per_kwh,
    )


def tariff_for(
    session: Session,
    user: User,
    *,
    now: datetime | None = None,
    specs: list[dict] | None = None,
) -> Tariff:
    """The household's tariff as every read of one request prices with (``specs``: these plans
    instead of the stored ones, for a preview)."""
    from energy_core.clock import now as clock_now

    if specs is None:
        specs = list_plans(session, user_id=user.id)
    series: dict[str, StoredPrices] = {}
    if any(s[d]["series"] for s in specs for d in DIRECTIONS):
        series = {d: _stored_prices(session, user.id, d) for d in DIRECTIONS}
    return build_tariff(user, specs, now=now or clock_now(), series=series)


def set_tariff(session: Session, *, user_id: int, document: Any) -> dict:
    """Store a tariff valid from its ``valid_from``; one with the same date is replaced. Only the
    hours from that date until the next tariff's are priced differently."""
    spec = validate_tariff(document)
    user = session.get(User, user_id)
    if user is None:
        raise TariffError(f"No user {user_id}.")
    day = date.fromisoformat(spec["valid_from"])
    row = session.exec(
        select(TariffPlanRow).where(
            TariffPlanRow.user_id == user_id, TariffPlanRow.valid_from == day
        )
    ).first()
    text = json.dumps(spec, sort_keys=True)
    if row is None:
        session.add(TariffPlanRow(user_id=user_id, valid_from=day, spec=text))
    else:
        row.spec = text
        session.add(row)
    user.currency = spec["currency"]
    session.add(user)
    session.flush()
    return spec


def delete_tariff(session: Session, *, user_id: int, valid_from: date) -> bool:
    result = session.exec(
        delete(TariffPlanRow).where(
            TariffPlanRow.user_id == user_id, TariffPlanRow.valid_from == valid_from
        )
    )
    return bool(result.rowcount)


def set_budget(session: Session, *, user_id: int, amount: float | None) -> float | None:
    """The household's budget per billing period, in its currency; None removes it."""
    if amount is not None and (
        isinstance(amount, bool) or not math.isfinite(amount) or not 0 <= amount <= 1_000_000
    ):
        raise TariffError("A monthly budget is an amount from 0 to 1000000.")
    user = session.get(User, user_id)
    if user is None:
        raise TariffError(f"No user {user_id}.")
    user.monthly_budget = amount
    session.add(user)
    session.flush()
    return amount


_START = ("start", "valid_from", "from", "timestamp", "time", "starts_at")
_END = ("end", "valid_to", "to", "ends_at")
_PRICE = ("price", "value_inc_vat", "value", "price_per_kwh")


def parse_price_csv(text: str) -> list[tuple[datetime, datetime, float]]:
    """Rows of a price file: a start column, optionally an end column, and a price per kWh.
    Timestamps must carry an offset; without an end a price lasts until the next row's start
    (the last row as long as the one before it)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    names = {(n or "").strip().lower(): n for n in reader.fieldnames or []}
    pick = lambda options: next((names[o] for o in options if o in names), None)  # noqa: E731
    start_col, end_col, price_col = pick(_START), pick(_END), pick(_PRICE)
    if start_col is None or price_col is None:
        raise TariffError(
            "A price file needs a header with a start column (start or valid_from) and a price "
            "column (price or value_inc_vat); an end column (end or valid_to) is optional."
        )
    rows: list[tuple[datetime, datetime | None, float]] = []
    problems: list[dict] = []
    for line, record in enumerate(reader, start=2):
        try:
            start = _instant(record[start_col])
            end = _instant(record[end_col]) if end_col and record.get(end_col) else None
            price = float(record[price_col])
            if not math.isfinite(price) or abs(price) > MAX_PRICE:
                raise ValueError(f"price {record[price_col]!r} is out of range")
            if end is not None and end <= start:
                raise ValueError("the end is not after the start")
        except (TypeError, ValueError) as exc:
            _problem(problems, f"line {line}", str(exc))
            continue
        rows.append((start, end, price))
        if len(rows) > MAX_SERIES_ROWS:
            raise TariffError(f"A price file holds at most {MAX_SERIES_ROWS} prices.")
    if problems:
        shown = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        raise TariffError(f"The price file has {len(problems)} bad rows: {shown}.", problems)
    if not rows:
        raise TariffError("The price file holds no prices.")
    rows.sort(key=lambda r: r[0])
    out = []
    for i, (start, end, price) in enumerate(rows):
        if i and start == rows[i - 1][0]:
            raise TariffError(f"Two prices start at {start.isoformat()}.")
        if end is None:
            if i + 1 < len(rows):
                end = rows[i + 1][0]
            elif i:
                end = start + (start - rows[i - 1][0])
            else:
                end = start + timedelta(minutes=30)
        if i + 1 < len(rows) and end > rows[i + 1][0]:
            raise TariffError(f"The price from {start.isoformat()} overlaps the next one.")
        out.append((start, end, price))
    return out


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write e.g. 2026-01-05T00:30:00Z")
    return value.astimezone(UTC)


def import_prices(session: Session, *, user_id: int, text: str, direction: str = "import") -> int:
    """Store a price file's prices, replacing the stored ones of the span it covers. They are
    used by tariffs whose import (or export) says ``"series": true``."""
    if direction not in DIRECTIONS:
        raise TariffError("The direction of a price series is import or export.")
    rows = parse_price_csv(text)
    session.exec(
        delete(TariffPrice).where(
            TariffPrice.user_id == user_id,
            TariffPrice.direction == direction,
            col(TariffPrice.starts_at) < rows[-1][1],
            col(TariffPrice.ends_at) > rows[0][0],
        )
    )
    session.add_all(
        TariffPrice(user_id=user_id, direction=direction, starts_at=a, ends_at=b, price=p)
        for a, b, p in rows
    )
    session.flush()
    return len(rows)


__all__ = [
    "TariffError",
    "build_tariff",
    "delete_tariff",
    "import_prices",
    "list_plans",
    "parse_days",
    "parse_price_csv",
    "parse_tariff_text",
    "set_budget",
    "set_tariff",
    "tariff_for",
    "validate_tariff",
]

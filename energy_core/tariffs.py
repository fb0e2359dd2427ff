"""Household tariffs (docs/tariffs.md): storage of the effective-dated plans (their documents are
checked in ``tariff_documents``) and imported price series, and the ``Tariff`` the read layer
prices with.

``tariff_for`` is the only place a household's ``Tariff`` is built; every cost figure (pages, read
API, chat, CSV) goes through it via ``energy_core.stats.load_household``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from energy_core.household_scope import for_household
from energy_core.models import TariffPlanRow, TariffPrice, User
from energy_core.stats.money import (
    Plan,
    PriceSeries,
    Rates,
    StoredPrices,
    Tariff,
    Tiers,
    TimeOfUse,
)
from energy_core.tariff_documents import (
    MAX_PRICE,
    TariffError,
    add_problem,
    parse_days,
    parse_tariff_text,
    validate_tariff,
)

DIRECTIONS = ("import", "export")
MAX_SERIES_ROWS = 200_000


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


@for_household
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


@for_household
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


@for_household
def delete_tariff(session: Session, *, user_id: int, valid_from: date) -> bool:
    result = session.exec(
        delete(TariffPlanRow).where(
            TariffPlanRow.user_id == user_id, TariffPlanRow.valid_from == valid_from
        )
    )
    return bool(result.rowcount)


@for_household
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
            add_problem(problems, f"line {line}", str(exc))
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


@for_household
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

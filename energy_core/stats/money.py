"""Money: the one place a cost is computed (docs/metrics.md, "Cost"; docs/tariffs.md).

Cost of an interval = grid import x import price - grid export x export price, with the prices
valid in that interval. Prices are a function of the hour: a household's tariff is a list of
effective-dated plans (each valid from a local date until the next one), each with a default
price, time-of-use periods by weekday and local time, and optionally an imported price series
(dynamic tariffs). Before its first plan, and without any plan, a household pays its legacy flat
price (``users.price_per_kwh``) and export earns nothing.

An hour's price is the time-weighted mean of the prices within it, where a period boundary, a
plan's start or a half-hourly price cuts the hour: the stored aggregates are hourly, so this is
exact whenever the use is even within the hour (docs/metrics.md, "Money"). The standing charge and
tax are not part of the hourly cost; they are added where a period's bill is shown
(``energy_core.stats.bills``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_core.units import format_money, format_price

COST_RULE = (
    "Cost is what the grid import costs minus what the grid export earns, each hour at the "
    "prices of that hour in the local time of the household (time of use, tariff valid then); "
    "the standing charge per day and tax are added only where the bill of a period is shown."
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class TimeOfUse:
    """A price on some weekdays between two local times. ``end_min`` <= ``start_min`` means the
    period crosses midnight: it starts on one of ``days`` and ends the next morning."""

    days: frozenset[int]  # 0 = Monday
    start_min: int  # minutes after local midnight
    end_min: int
    price: float

    def applies(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return local.weekday() in self.days and self.start_min <= minute < self.end_min
        if minute >= self.start_min:
            return local.weekday() in self.days
        return minute < self.end_min and (local.weekday() - 1) % 7 in self.days

    def words(self) -> str:
        return f"{_days_words(self.days)} {_hhmm(self.start_min)}-{_hhmm(self.end_min)}"


@dataclass(frozen=True)
class Tiers:
    """Import prices by the kWh already imported in the local day (``per`` "day") or billing
    period ("billing_period"): the kWh up to ``limits_kwh[0]`` at ``prices[0]``, from there up
    to ``limits_kwh[1]`` at ``prices[1]``..., past the last limit at the plan's default price.
    They price the kWh no time-of-use period or series price covers; every imported kWh counts
    towards the limits (docs/tariffs.md, "Tiers")."""

    per: str
    limits_kwh: tuple[float, ...]
    prices: tuple[float, ...]

    def mean_price(self, before_kwh: float, kwh: float, default: float) -> float:
        """The mean price of the kWh ``[before_kwh, before_kwh + kwh)`` of the count; for no
        kWh, the price of the next one."""
        if kwh <= 0:
            for limit, price in zip(self.limits_kwh, self.prices, strict=True):
                if before_kwh < limit:
                    return price
            return default
        cursor, end, paid = before_kwh, before_kwh + kwh, 0.0
        for limit, price in zip(self.limits_kwh, self.prices, strict=True):
            if cursor < min(limit, end):
                paid += (min(limit, end) - cursor) * price
                cursor = min(limit, end)
        paid += max(end - cursor, 0.0) * default
        return paid / kwh

    def words(self, default: float, currency: str) -> str:
        steps, low = [], 0.0
        for limit, price in zip(self.limits_kwh, self.prices, strict=True):
            steps.append(f"{format_price(price, currency)} from {low:g} to {limit:g} kWh")
            low = limit
        per = "day" if self.per == "day" else "billing period"
        return f"{', '.join(steps)}, then {format_price(default, currency)}, counted per {per}"


@dataclass(frozen=True)
class Rates:
    """One direction's prices (import or export) in one plan."""

    default: float
    periods: tuple[TimeOfUse, ...] = ()
    series: bool = False  # the imported price series wins where it has a price
    tiers: Tiers | None = None  # import only: the default price by the kWh imported so far

    def at(
        self, local: datetime, series_price: float | None, default: float | None = None
    ) -> float:
        """The price at ``local``; ``default`` replaces the plan's default (a tier's price)."""
        if self.series and series_price is not None:
            return series_price
        for period in self.periods:
            if period.applies(local):
                return period.price
        return self.default if default is None else default

    @property
    def is_flat(self) -> bool:
        return not self.periods and not self.series and self.tiers is None


@dataclass(frozen=True)
class Plan:
    """A tariff valid from the local midnight starting ``valid_from`` until the next plan."""

    valid_from: date
    starts_at: datetime  # that local midnight, in UTC
    currency: str
    import_rates: Rates
    export_rates: Rates = Rates(0.0)
    standing_charge_per_day: float = 0.0
    tax_percent: float = 0.0
    billing_day: int = 1


@dataclass(frozen=True)
class PriceSeries:
    """Imported prices of a dynamic tariff: ``[starts[i], ends[i])`` costs ``prices[i]``."""

    starts: tuple[datetime, ...] = ()
    ends: tuple[datetime, ...] = ()
    prices: tuple[float, ...] = ()

    def at(self, instant: datetime) -> float | None:
        i = bisect_right(self.starts, instant) - 1
        if i >= 0 and instant < self.ends[i]:
            return self.prices[i]
        return None

    def cuts(self, lo: datetime, hi: datetime) -> list[datetime]:
        """The instants strictly inside ``(lo, hi)`` where a price starts or ends."""
        i = max(bisect_right(self.starts, lo) - 1, 0)
        out = []
        while i < len(self.starts) and self.starts[i] < hi:
            for t in (self.starts[i], self.ends[i]):
                if lo < t < hi:
                    out.append(t)
            i += 1
        return out


Fetch = Callable[[datetime, datetime], Sequence[tuple[datetime, datetime, float]]]
# A read outside the windows already loaded fetches at least this much around the instant.
FALLBACK_WINDOW = timedelta(days=7)


class StoredPrices:
    """A dynamic tariff's prices as stored, read a window at a time (``fetch(lo, hi)`` returns
    the prices overlapping ``[lo, hi)``) and kept for the rest of the request: a read loads the
    window it costs (``load``), and an instant outside every loaded window loads a week from it.
    A year of half-hourly prices is never read to cost one day."""

    def __init__(self, fetch: Fetch):
        self._fetch = fetch
        self._rows: dict[datetime, tuple[datetime, float]] = {}
        self._loaded: list[tuple[datetime, datetime]] = []
        self._series = PriceSeries()
        self.fetches = 0  # how many windows were read (for the bench and the tests)

    def load(self, lo: datetime, hi: datetime) -> None:
        """Make sure the prices overlapping ``[lo, hi)`` are at hand."""
        if any(a <= lo and hi <= b for a, b in self._loaded):
            return
        self.fetches += 1
        for start, end, price in self._fetch(lo, hi):
            self._rows[start] = (end, price)
        windows = sorted([*self._loaded, (lo, hi)])
        merged = [windows[0]]
        for a, b in windows[1:]:
            if a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self._loaded = merged
        starts = sorted(self._rows)
        self._series = PriceSeries(
            tuple(starts),
            tuple(self._rows[t][0] for t in starts),
            tuple(self._rows[t][1] for t in starts),
        )

    @property
    def held(self) -> int:
        """How many prices have been read so far."""
        return len(self._rows)

    def _around(self, lo: datetime, hi: datetime) -> PriceSeries:
        if not any(a <= lo and hi <= b for a, b in self._loaded):
            self.load(lo, max(hi, lo + FALLBACK_WINDOW))
        return self._series

    def at(self, instant: datetime) -> float | None:
        return self._around(instant, instant + MINUTE).at(instant)

    def cuts(self, lo: datetime, hi: datetime) -> list[datetime]:
        return self._around(lo, hi).cuts(lo, hi)


@dataclass(frozen=True)
class Tariff:
    """The prices of a household's electricity, per kWh, as a function of the hour.

    ``import_price_per_kwh`` and ``export_price_per_kwh`` are today's default prices (what a
    caller shows as "the price"); ``plans`` (oldest first) hold the whole effective-dated history.
    Without plans the two prices hold in every hour.
    """

    currency: str
    import_price_per_kwh: float
    export_price_per_kwh: float = 0.0
    timezone: str = "UTC"
    plans: tuple[Plan, ...] = ()
    import_series: PriceSeries | StoredPrices = PriceSeries()
    export_series: PriceSeries | StoredPrices = PriceSeries()
    current: Plan | None = None
    legacy_import_price: float | None = None  # users.price_per_kwh, before the first plan
    _hours: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    # Tiered plans: each UTC hour's mean tier price, and the range they were worked out for
    # (energy_core.stats.tiers); an hour not worked out (one to come) pays the default price.
    tier_prices: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    tier_range: list = field(default_factory=list, compare=False, hash=False, repr=False)

    @property
    def has_tiers(self) -> bool:
        return any(p.import_rates.tiers is not None for p in self.plans)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def load_prices(self, start: datetime, end: datetime) -> None:
        """Read the stored prices a dynamic tariff needs to price ``[start, end)``, in one go
        (the hours that start before ``start`` and end after it included)."""
        lo, hi = start.astimezone(UTC) - HOUR, end.astimezone(UTC) + HOUR
        for series in (self.import_series, self.export_series):
            if isinstance(series, StoredPrices):
                series.load(lo, hi)

    def plan_at(self, instant: datetime) -> Plan | None:
        """The plan valid at ``instant`` (None: the legacy flat price holds)."""
        found = None
        for plan in self.plans:
            if plan.starts_at <= instant:
                found = plan
            else:
                break
        return found

    def _prices_at_instant(
        self, instant: datetime, tier_price: float | None = None
    ) -> tuple[float, float]:
        plan = self.plan_at(instant)
        if plan is None:
            return self._legacy
        local = instant.astimezone(self.tz)
        default = tier_price if plan.import_rates.tiers is not None else None
        imp = plan.import_rates.at(local, self.import_series.at(instant), default)
        exp = plan.export_rates.at(local, self.export_series.at(instant))
        return imp, exp

    @property
    def _legacy(self) -> tuple[float, float]:
        if self.legacy_import_price is not None:
            return self.legacy_import_price, 0.0
        return self.import_price_per_kwh, self.export_price_per_kwh

    def prices_at(self, hour_start: datetime) -> tuple[float, float]:
        """(import price, export price) per kWh valid in the hour starting at ``hour_start``: the
        time-weighted mean where a period, a plan or a series price starts within the hour."""
        if not self.plans:
            return self.import_price_per_kwh, self.export_price_per_kwh
        hour_start = hour_start.astimezone(UTC)
        cached = self._hours.get(hour_start)
        if cached is not None:
            return cached
        tier_price = self.tier_prices.get(hour_start)
        end = hour_start + HOUR
        cuts = {hour_start, end}
        local_minute = hour_start.astimezone(self.tz).minute
        for plan in self.plans:
            if hour_start < plan.starts_at < end:
                cuts.add(plan.starts_at)
            for rates in (plan.import_rates, plan.export_rates):
                for period in rates.periods:
                    for boundary in (period.start_min, period.end_min):
                        offset = (boundary % 60 - local_minute) % 60
                        if offset:
                            cuts.add(hour_start + offset * MINUTE)
        cuts.update(self.import_series.cuts(hour_start, end))
        cuts.update(self.export_series.cuts(hour_start, end))
        edges = sorted(cuts)
        if len(edges) == 2:
            prices = self._prices_at_instant(hour_start, tier_price)
        else:
            imp = exp = 0.0
            for lo, hi in zip(edges, edges[1:], strict=False):
                share = (hi - lo) / HOUR
                a, b = self._prices_at_instant(lo, tier_price)
                imp += a * share
                exp += b * share
            prices = (imp, exp)
        if tier_price is None and not self.has_tiers:
            # A tier price depends on the import so far, which a later read may extend.
            self._hours[hour_start] = prices
        return prices

    def flat_prices(self, start: datetime, end: datetime) -> tuple[float, float] | None:
        """The prices if they are the same in every hour of ``[start, end)``, else None (the
        cost must then be added up hour by hour)."""
        if not self.plans:
            return self.import_price_per_kwh, self.export_price_per_kwh
        seen: set[tuple[float, float]] = set()
        first = self.plans[0].starts_at
        if start < first:
            seen.add(self._legacy)
        for i, plan in enumerate(self.plans):
            until = self.plans[i + 1].starts_at if i + 1 < len(self.plans) else None
            if plan.starts_at >= end or (until is not None and until <= start):
                continue
            if not (plan.import_rates.is_flat and plan.export_rates.is_flat):
                return None
            seen.add((plan.import_rates.default, plan.export_rates.default))
        return seen.pop() if len(seen) == 1 else None

    def cost(self, import_wh: float, export_wh: float, *, hour_start: datetime) -> float:
        """The cost of one hour's (or part of an hour's) grid flows."""
        import_price, export_price = self.prices_at(hour_start)
        return price_flows(import_wh, export_wh, import_price, export_price)

    def describe(self) -> str:
        """The rule in words, with this tariff's prices, for captions under cost figures."""
        plan = self.current
        cur = self.currency
        if plan is None:
            text = f"grid import at {format_price(self.import_price_per_kwh, cur)}"
            if self.export_price_per_kwh:
                return f"{text} minus grid export at {format_price(self.export_price_per_kwh, cur)}"
            return f"{text}; export is not credited (no export price is set)"
        text = f"grid import at {_rates_words(plan.import_rates, cur)}"
        if plan.export_rates.default or plan.export_rates.periods or plan.export_rates.series:
            text += f" minus grid export at {_rates_words(plan.export_rates, cur)}"
        else:
            text += "; export is not credited"
        extras = []
        if plan.standing_charge_per_day:
            extras.append(f"standing charge {format_money(plan.standing_charge_per_day, cur)}/day")
        if plan.tax_percent:
            extras.append(f"tax {plan.tax_percent:g} %")
        text += f" (tariff valid from {plan.valid_from.isoformat()}"
        if extras:
            text += "; " + " and ".join(extras) + " added on bills only"
        return text + ")"


def _rates_words(rates: Rates, currency: str) -> str:
    if rates.tiers is not None:
        text = rates.tiers.words(rates.default, currency)
    else:
        text = format_price(rates.default, currency)
    if rates.periods:
        periods = (f"{format_price(p.price, currency)} {p.words()}" for p in rates.periods)
        text += " (" + ", ".join(periods) + ")"
    if rates.series:
        text += ", or the imported price of the half hour where there is one"
    return text


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_words(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) == 7:
        return "every day"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[d] for d in ordered)


def price_flows(
    import_wh: float, export_wh: float, import_price: float, export_price: float
) -> float:
    """Import x import price - export x export price, energies in Wh, prices per kWh."""
    return (import_wh * import_price - export_wh * export_price) / 1000.0


__all__ = [
    "COST_RULE",
    "WEEKDAYS",
    "Plan",
    "PriceSeries",
    "Rates",
    "StoredPrices",
    "Tariff",
    "Tiers",
    "TimeOfUse",
    "price_flows",
]

"""Bills: a run of whole local days priced as the bill shows it (docs/metrics.md, "Bill").

Bill = the days' energy cost (the ``cost`` metric, hour by hour) + the standing charge of every
day, + tax on both; each day takes the standing charge and tax percent of the tariff valid at its
local midnight (none before the household's first tariff). The current billing period runs from
the tariff's billing day; its projection to the period's end is stated with the bill.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session

from energy_core.stats.period import days_period, local_midnight
from energy_core.stats.selection import Household
from energy_core.stats.series import read_series

PROJECTION_METHOD = (
    "the average energy cost per day of the whole days so far, times the days of the period, "
    "plus the standing charge of every day of it, plus tax"
)


@dataclass(frozen=True)
class Bill:
    first_day: date
    last_day: date  # inclusive
    currency: str
    energy: float  # the cost metric over the days
    standing: float
    tax: float
    days: int
    days_so_far: int  # days that have begun (a bill still running has fewer than ``days``)
    covered_s: float = 0.0  # the time the household's readings cover over the days

    @property
    def total(self) -> float:
        return self.energy + self.standing + self.tax

    @property
    def has_readings(self) -> bool:
        """False when no reading covers any of the days: the bill is "no data", not a zero."""
        return self.covered_s > 0

    def as_dict(self) -> dict:
        """The bill as the CLI's JSON and the read API show it."""
        return {
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "days": self.days,
            "days_so_far": self.days_so_far,
            "energy": round(self.energy, 6),
            "standing_charge": round(self.standing, 6),
            "tax": round(self.tax, 6),
            "total": round(self.total, 6),
            "has_readings": self.has_readings,
        }


def bill_for(
    session: Session, household: Household, first_day: date, last_day: date, *, now: datetime
) -> Bill:
    """The bill of ``first_day`` .. ``last_day`` (local days, inclusive) as far as ``now``."""
    tz = household.tz
    tariff = household.tariff
    today = now.astimezone(tz).date()
    period = days_period(first_day, last_day, timezone=household.timezone, now=now)
    energy = standing = tax = covered = 0.0
    begun = 0
    if first_day <= today:
        series = read_series(session, household.select(period, granularity="day"))
        for figure in series.household:
            day = figure.start.astimezone(tz).date()
            plan = tariff.plan_at(local_midnight(day, tz))
            charge = plan.standing_charge_per_day if plan else 0.0
            percent = plan.tax_percent if plan else 0.0
            energy += figure.cost_value
            covered += figure.covered_s
            standing += charge
            tax += (figure.cost_value + charge) * percent / 100.0
            begun += 1
    return Bill(
        first_day=first_day,
        last_day=last_day,
        currency=household.currency,
        energy=energy,
        standing=standing,
        tax=tax,
        days=(last_day - first_day).days + 1,
        days_so_far=begun,
        covered_s=covered,
    )


def billing_period(day: date, billing_day: int) -> tuple[date, date]:
    """The billing period containing ``day``: from the last ``billing_day`` on or before it to the
    day before the next one."""
    start = day.replace(day=billing_day)
    if start > day:
        start = _add_month(start, -1)
    return start, _add_month(start, 1) - timedelta(days=1)


def _add_month(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


@dataclass(frozen=True)
class BillingSummary:
    current: Bill
    projected_total: float | None  # None until a whole day has passed
    last: Bill
    budget: float | None = None  # per billing period
    last_year: Bill | None = None  # this period's days a year earlier, as far as today's
    method: str = PROJECTION_METHOD

    @property
    def budget_used(self) -> float | None:
        """The share of the budget the period so far has used (above 1: over budget)."""
        if not self.budget:
            return None
        return self.current.total / self.budget

    @property
    def budget_verdict(self) -> str | None:
        if not self.budget:
            return None
        if self.current.total > self.budget:
            return "over budget"
        if self.projected_total is not None and self.projected_total > self.budget:
            return "on course to exceed the budget"
        return "within budget"

    def as_dict(self) -> dict:
        """The summary as the CLI's JSON and the read API show it."""
        return {
            "currency": self.current.currency,
            "current": self.current.as_dict(),
            "projected_total": self.projected_total,
            "projection_method": self.method,
            "last": self.last.as_dict(),
            "same_days_last_year": self.last_year.as_dict() if self.last_year else None,
            "budget": self.budget,
            "budget_used": self.budget_used,
            "budget_verdict": self.budget_verdict,
        }


def billing_summary(session: Session, household: Household, *, now: datetime) -> BillingSummary:
    """This billing period so far, its projection to its end, and the last period."""
    tz = household.tz
    today = now.astimezone(tz).date()
    plan = household.tariff.current
    start, end = billing_period(today, plan.billing_day if plan else 1)
    current = bill_for(session, household, start, end, now=now)
    last_start, last_end = billing_period(
        start - timedelta(days=1), plan.billing_day if plan else 1
    )
    last = bill_for(session, household, last_start, last_end, now=now)
    whole = (today - start).days
    projected = None
    if whole > 0:
        done = bill_for(session, household, start, today - timedelta(days=1), now=now)
        per_day = done.energy / whole
        charge = plan.standing_charge_per_day if plan else 0.0
        percent = plan.tax_percent if plan else 0.0
        days = current.days
        projected = (per_day * days + charge * days) * (1 + percent / 100.0)
    from energy_core.models import User

    owner = session.get(User, household.user_id)
    budget = owner.monthly_budget if owner is not None else None
    year_ago = _add_month(start, -12)
    so_far = min(today, end) - start
    last_year = bill_for(session, household, year_ago, year_ago + so_far, now=now)
    return BillingSummary(
        current=current, projected_total=projected, last=last, budget=budget, last_year=last_year
    )


def past_bills(
    session: Session, household: Household, *, now: datetime, count: int = 12
) -> list[tuple[Bill, bool]]:
    """The ``count`` billing periods before the current one, oldest first, each with whether it
    is whole: the household's readings began before its first day (a period monitored for part
    of it would lower an average). Periods before the first reading are left out."""
    tz = household.tz
    starts = [d.first_at for d in household.devices if d.first_at is not None]
    if not starts:
        return []
    first_reading = min(starts).astimezone(tz)
    plan = household.tariff.current
    billing_day = plan.billing_day if plan else 1
    start, _ = billing_period(now.astimezone(tz).date(), billing_day)
    found: list[tuple[Bill, bool]] = []
    for _ in range(count):
        start, end = billing_period(start - timedelta(days=1), billing_day)
        if local_midnight(end + timedelta(days=1), tz) <= first_reading:
            break
        bill = bill_for(session, household, start, end, now=now)
        found.append((bill, local_midnight(start, tz) >= first_reading))
    return found[::-1]


def what_if(
    session: Session,
    household: Household,
    documents: list[object | None],
    first_day: date,
    last_day: date,
    *,
    now: datetime,
) -> list[Bill]:
    """``first_day`` .. ``last_day`` billed under each tariff document as if it had held all
    along (its ``valid_from`` moved to ``first_day``); None: the household's stored tariff."""
    from energy_core.models import User
    from energy_core.tariffs import tariff_for, validate_tariff

    user = session.get(User, household.user_id)
    bills = []
    for document in documents:
        if document is None:
            bills.append(bill_for(session, household, first_day, last_day, now=now))
            continue
        spec = {**validate_tariff(document), "valid_from": first_day.isoformat()}
        other = replace(household, tariff=tariff_for(session, user, now=now, specs=[spec]))
        bills.append(bill_for(session, other, first_day, last_day, now=now))
    return bills


@dataclass(frozen=True)
class Preview:
    """One day billed under the tariff as stored and as it would be with a new plan."""

    day: date
    current: Bill
    proposed: Bill

    @property
    def change(self) -> float:
        return self.proposed.total - self.current.total


def preview_plan(
    session: Session, household: Household, document: object, *, day: date, now: datetime
) -> Preview:
    """``day`` billed under the household's tariff and under it with ``document`` stored (a
    plan with the same ``valid_from`` replaced); nothing is stored. ``TariffError`` if invalid."""
    from energy_core.models import User
    from energy_core.tariffs import list_plans, tariff_for, validate_tariff

    spec = validate_tariff(document)
    user = session.get(User, household.user_id)
    specs = [
        s for s in list_plans(session, user_id=user.id) if s["valid_from"] != spec["valid_from"]
    ]
    proposed_tariff = tariff_for(session, user, now=now, specs=[*specs, spec])
    proposed = replace(household, tariff=proposed_tariff)
    return Preview(
        day=day,
        current=bill_for(session, household, day, day, now=now),
        proposed=bill_for(session, proposed, day, day, now=now),
    )


__all__ = [
    "PROJECTION_METHOD",
    "Bill",
    "BillingSummary",
    "Preview",
    "bill_for",
    "billing_period",
    "billing_summary",
    "preview_plan",
    "what_if",
]

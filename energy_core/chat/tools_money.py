"""The chat tools about money beyond the cost of a range: the bill of the billing period (so far,
projected, budget), the tariff's prices of a day (standing charge, cheapest hours), and what the
last months would have cost under a saved alternative tariff. All from the read layer's bills
(``energy_core.stats.bills``), the same figures as the Tariffs page and ``GET /api/v1/bill``."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from energy_core.chat.toolargs import _Args
from energy_core.chat.toolbase import ToolContext, ToolError, _evidence, _r, resolve_targets
from energy_core.stats import COST_RULE
from energy_core.stats.bills import Bill, billing_summary, past_bills, what_if
from energy_core.stats.period import add_months, days_period, local_midnight
from energy_core.stats.without import bill_without
from energy_core.tariff_alternatives import Alternative, list_alternatives
from energy_core.types import HOUR

BILL_RULE = (
    "A bill is the energy cost of its days (grid import at the import price minus grid export "
    "at the export price, hour by hour) plus the standing charge of every day, plus tax on both."
)
WITHOUT_RULE = (
    "the bill less what the devices' consumption cost, hour by hour: at the import price where "
    "the household imported at least that much, at the export price for the part its own "
    "generation covered (it would have been exported); tax less in proportion; the standing "
    "charge stays. It assumes nothing else would have run instead."
)
HOW_TO_ADD = (
    "Keep the other tariff as an alternative to compare with: `energy-monitor tariffs "
    "alternative --user <your email> --name 'Night saver' --file tariff.json` (the JSON of "
    "docs/tariffs.md), or try one on the Tariffs page's preview."
)


class BillArgs(_Args):
    past_periods: int = Field(
        0,
        ge=0,
        le=24,
        description="Also the bills of this many billing periods before the current one, and "
        "their average over the whole ones (for 'my average monthly bill').",
    )
    without_devices: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Also the bills as they would have been without these devices: the bill "
        "less what their consumption cost hour by hour ('my bill without the heat pump').",
    )


class CompareTariffsArgs(_Args):
    tariff: str | None = Field(
        None,
        max_length=80,
        description="The name of one of the user's saved alternative tariffs; empty when the "
        "user has only one.",
    )
    months: int = Field(3, ge=1, le=24, description="How many months back (default 3).")


class TariffDayArgs(_Args):
    day: Literal["today", "tomorrow"] = Field("today", description="Which local day's prices.")


def _bill(bill: Bill) -> dict:
    return {**bill.as_dict(), "currency": bill.currency}


def _without(ctx: ToolContext, names: list[str], current: Bill, last: Bill) -> dict:
    devices, _ = resolve_targets(ctx, devices=names, rooms=[])
    chosen = tuple(devices)
    return {
        "devices": [d.name for d in chosen],
        "method": WITHOUT_RULE,
        "current": bill_without(ctx.session, ctx.household, current, chosen, now=ctx.now).as_dict(),
        "last": bill_without(ctx.session, ctx.household, last, chosen, now=ctx.now).as_dict(),
    }


def tool_bill(ctx: ToolContext, args: BillArgs) -> tuple[dict, dict]:
    summary = billing_summary(ctx.session, ctx.household, now=ctx.now)
    current = summary.current
    result = {
        "currency": ctx.currency,
        "current": _bill(current),
        "projected_total": _r(summary.projected_total, 6),
        "projection_method": summary.method,
        "last": _bill(summary.last),
        "budget": summary.budget,
        "budget_used": _r(summary.budget_used, 6),
        "budget_verdict": summary.budget_verdict,
    }
    if args.past_periods:
        past = past_bills(ctx.session, ctx.household, now=ctx.now, count=args.past_periods)
        whole = [bill.total for bill, complete in past if complete]
        result["past"] = [{**_bill(bill), "whole": complete} for bill, complete in past]
        result["average_total"] = _r(sum(whole) / len(whole), 6) if whole else None
        result["whole_periods"] = len(whole)
    if args.without_devices:
        result["without"] = _without(ctx, args.without_devices, current, summary.last)
    period = days_period(current.first_day, current.last_day, timezone=ctx.timezone, now=ctx.now)
    evidence = _evidence(
        "bill",
        devices=list(ctx.devices),
        period=period,
        coverage=None,
        whole_household=True,
        note=f"{BILL_RULE} Projection: {summary.method}. Here: {ctx.household.tariff.describe()}.",
    )
    return result, evidence


def _named(alternatives: list[Alternative], name: str | None) -> Alternative:
    if not alternatives:
        raise ToolError(f"You have no other tariff saved to compare yours with. {HOW_TO_ADD}")
    if name:
        wanted = " ".join(name.split()).lower()
        for alternative in alternatives:
            if alternative.name.lower() == wanted:
                return alternative
        raise ToolError(
            f"You have no saved tariff called {name!r}; yours: "
            + ", ".join(repr(a.name) for a in alternatives)
            + "."
        )
    if len(alternatives) > 1:
        raise ToolError(
            "Which tariff? You have saved "
            + ", ".join(repr(a.name) for a in alternatives)
            + "; ask about one of them by name."
        )
    return alternatives[0]


def tool_compare_tariffs(ctx: ToolContext, args: CompareTariffsArgs) -> tuple[dict, dict]:
    other = _named(list_alternatives(ctx.session, user_id=ctx.user_id), args.tariff)
    tz = ctx.household.tz
    today = ctx.now.astimezone(tz).date()
    first = add_months(local_midnight(today, tz), -args.months).date()
    last = today - timedelta(days=1)
    mine, theirs = what_if(ctx.session, ctx.household, [None, other.spec], first, last, now=ctx.now)
    saving = mine.total - theirs.total
    result = {
        "currency": ctx.currency,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "months": args.months,
        "yours": _bill(mine),
        "alternative": {"name": other.name, **_bill(theirs)},
        "saving": _r(saving, 6),
    }
    evidence = _evidence(
        "compare_tariffs",
        devices=list(ctx.devices),
        period=days_period(first, last, timezone=ctx.timezone, now=ctx.now),
        coverage=None,
        whole_household=True,
        note=f"{BILL_RULE} The same days billed twice: under your tariff as it was (effective "
        f"dates kept), and under '{other.name}' as if it had held all along. Here: "
        f"{ctx.household.tariff.describe()}.",
    )
    return result, evidence


def tool_tariff_day(ctx: ToolContext, args: TariffDayArgs) -> tuple[dict, dict]:
    tz = ctx.household.tz
    day = ctx.now.astimezone(tz).date() + timedelta(days=args.day == "tomorrow")
    tariff = ctx.household.tariff
    plan = tariff.plan_at(local_midnight(day, tz))
    hours = []
    cursor = local_midnight(day, tz).astimezone(tariff.tz)
    end = local_midnight(day + timedelta(days=1), tz)
    while cursor < end:
        price, export_price = tariff.prices_at(cursor)
        hours.append(
            {
                "start": cursor.astimezone(tz).isoformat(),
                "import_price": _r(price, 6),
                "export_price": _r(export_price, 6),
            }
        )
        cursor += HOUR
    cheapest = min(h["import_price"] for h in hours)
    result = {
        "currency": ctx.currency,
        "day": day.isoformat(),
        "standing_charge_per_day": plan.standing_charge_per_day if plan else 0.0,
        "tax_percent": plan.tax_percent if plan else 0.0,
        "tiers": plan is not None and plan.import_rates.tiers is not None,
        "hours": hours,
        "cheapest_price": cheapest,
        "cheapest_hours": [h["start"] for h in hours if h["import_price"] == cheapest],
        "same_price_all_day": len({h["import_price"] for h in hours}) == 1,
    }
    evidence = _evidence(
        "tariff_day",
        devices=[],
        period=days_period(day, day, timezone=ctx.timezone),
        coverage=None,
        note=f"{COST_RULE} Here: {tariff.describe()}.",
    )
    return result, evidence


__all__ = [
    "BILL_RULE",
    "HOW_TO_ADD",
    "BillArgs",
    "CompareTariffsArgs",
    "TariffDayArgs",
    "tool_bill",
    "tool_compare_tariffs",
    "tool_tariff_day",
]

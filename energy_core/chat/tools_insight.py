"""The chat tools that compare with the typical: why a period was high, and the month projected.

"Typical" is always the same thing: for each local hour of the day (and for the projection, of
each weekday), the mean over the recent days before, read through the shared read layer. Both
tools say what they assumed in their evidence.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, timedelta

from energy_core.chat.periods import Period
from energy_core.chat.toolargs import ExplainArgs, ProjectArgs, SummaryArgs
from energy_core.chat.toolbase import (
    ToolContext,
    ToolError,
    _consumers,
    _evidence,
    _iso,
    _period_evidence,
    _r,
    scope_of,
)
from energy_core.insights import parse_week, weekly_summary
from energy_core.stats import COST_RULE, buckets, read_series
from energy_core.stats.period import add_days, local_midnight

MIN_COVERAGE = 0.5  # hours covered less than this do not make the typical day


def _hour_means(figures, periods, tz, *, by_weekday: bool = False) -> dict:  # noqa: ANN001
    """Mean average power (W, i.e. Wh per whole hour) of each local hour of the day (and
    weekday), from the hours covered at least ``MIN_COVERAGE``."""
    found: dict[tuple[int, int] | int, list[float]] = defaultdict(list)
    for figure, (lo, _hi) in zip(figures, periods, strict=True):
        if figure.coverage is None or figure.coverage < MIN_COVERAGE or figure.avg_w is None:
            continue
        local = lo.astimezone(tz)
        key = (local.weekday(), local.hour) if by_weekday else local.hour
        found[key].append(figure.avg_w)
    return {key: statistics.fmean(values) for key, values in found.items()}


def tool_explain_period(ctx: ToolContext, args: ExplainArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args, default="yesterday")
    period = scope.period
    consumers = _consumers(scope.devices)
    if not consumers:
        raise ToolError("None of those devices consume energy, so there is nothing to explain.")
    tz = ctx.household.tz
    baseline = Period(
        start=add_days(period.start, -args.baseline_days),
        end=period.start,
        label=f"the {args.baseline_days} days before",
        kind="day",
        length=args.baseline_days,
    )
    now_series = read_series(
        ctx.session,
        ctx.household.select(period, devices=consumers, granularity="hour"),
        flows=False,
    )
    base_series = read_series(
        ctx.session,
        ctx.household.select(baseline, devices=consumers, granularity="hour"),
        flows=False,
    )
    rows = []
    by_hour: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for device in consumers:
        # A device that did not exist yet in the baseline (or the period) has no figures there:
        # no typical hours to compare with, so nothing to explain for it.
        if device.device_id not in base_series.by_device:
            continue
        if device.device_id not in now_series.by_device:
            continue
        typical = _hour_means(base_series.by_device[device.device_id], base_series.periods, tz)
        actual_wh = typical_wh = 0.0
        seen = False
        for figure, (lo, hi) in zip(
            now_series.by_device[device.device_id], now_series.periods, strict=True
        ):
            usual = typical.get(lo.astimezone(tz).hour)
            if figure.consumption_wh is None or usual is None:
                continue
            seen = True
            expected = usual * (hi - lo).total_seconds() / 3600
            actual_wh += figure.consumption_wh
            typical_wh += expected
            slot = by_hour[_iso(lo.astimezone(tz))]
            slot[0] += figure.consumption_wh
            slot[1] += expected
        if seen:
            rows.append(
                {
                    "device_id": device.device_id,
                    "name": device.name,
                    "actual_wh": _r(actual_wh),
                    "typical_wh": _r(typical_wh),
                    "difference_wh": _r(actual_wh - typical_wh),
                }
            )
    rows.sort(key=lambda r: r["difference_wh"], reverse=True)
    hours = sorted(
        (
            {
                "start": start,
                "actual_wh": _r(a),
                "typical_wh": _r(t),
                "difference_wh": _r(a - t),
            }
            for start, (a, t) in by_hour.items()
        ),
        key=lambda r: r["difference_wh"],
        reverse=True,
    )
    actual = sum(r["actual_wh"] for r in rows)
    typical = sum(r["typical_wh"] for r in rows)
    result = {
        "actual_wh": _r(actual) if rows else None,
        "typical_wh": _r(typical) if rows else None,
        "difference_wh": _r(actual - typical) if rows else None,
        "devices": rows,
        "hours": hours[:3],
        "baseline_days": args.baseline_days,
        "coverage": _r(now_series.total.coverage, 4),
    }
    evidence = scope.evidence(
        "explain_period",
        coverage=result["coverage"],
        devices=consumers,
        note="typical: for each local hour of the day, the mean average power of that hour over "
        f"the {args.baseline_days} days before (hours covered at least half); generators left out",
    )
    evidence["baseline_range"] = _period_evidence(baseline)
    return result, evidence


def tool_project_month(ctx: ToolContext, args: ProjectArgs) -> tuple[dict, dict]:
    tz = ctx.household.tz
    now = ctx.now.astimezone(tz)
    first = date(now.year, now.month, 1)
    following = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    month = Period(
        start=local_midnight(first, tz),
        end=now,
        label="this month",
        kind="month",
        full_end=local_midnight(following, tz),
    )
    today = local_midnight(now.date(), tz)
    basis = Period(
        start=add_days(today, -args.basis_days),
        end=today,
        label=f"the last {args.basis_days} whole days",
        kind="day",
        length=args.basis_days,
    )
    so_far = read_series(ctx.session, ctx.household.select(month)).total
    hourly = read_series(ctx.session, ctx.household.select(basis, granularity="hour"))
    by_weekday = defaultdict(list)
    by_hour = defaultdict(list)
    for figure, (lo, _hi) in zip(hourly.household, hourly.periods, strict=True):
        if figure.coverage is None or figure.coverage < MIN_COVERAGE or figure.import_wh is None:
            continue
        local = lo.astimezone(tz)
        # Scaled to the whole hour: a gap is unknown, not zero.
        flows = (
            figure.import_wh / figure.coverage,
            figure.export_wh / figure.coverage,
            (figure.consumption_wh or 0.0) / figure.coverage,
        )
        by_weekday[(local.weekday(), local.hour)].append(flows)
        by_hour[local.hour].append(flows)
    tariff = ctx.household.tariff
    rest_import = rest_export = rest_consumption = rest_cost = 0.0
    unknown_hours = 0
    for lo, hi in buckets(now, month.full_end, "hour", tz):
        local = lo.astimezone(tz)
        values = by_weekday.get((local.weekday(), local.hour)) or by_hour.get(local.hour)
        if not values:
            unknown_hours += 1
            continue
        share = (hi - lo).total_seconds() / 3600
        imp = statistics.fmean(v[0] for v in values) * share
        exp = statistics.fmean(v[1] for v in values) * share
        rest_import += imp
        rest_export += exp
        rest_consumption += statistics.fmean(v[2] for v in values) * share
        rest_cost += tariff.cost(imp, exp, hour_start=lo.astimezone(UTC))
    remaining_s = (month.full_end.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
    known = so_far.cost is not None and not unknown_hours
    result = {
        "month": first.strftime("%B %Y"),
        "so_far_cost": _r(so_far.cost, 4),
        "so_far_import_wh": _r(so_far.import_wh),
        "so_far_consumption_wh": _r(so_far.consumption_wh),
        "rest_cost": _r(rest_cost, 4),
        "rest_import_wh": _r(rest_import),
        "rest_consumption_wh": _r(rest_consumption),
        "projected_cost": _r(so_far.cost + rest_cost, 4) if known else None,
        "projected_import_wh": _r(so_far.import_wh + rest_import) if known else None,
        "projected_consumption_wh": _r((so_far.consumption_wh or 0.0) + rest_consumption)
        if known
        else None,
        "remaining_days": _r(remaining_s / 86_400, 2),
        "unknown_hours": unknown_hours,
        "basis_days": args.basis_days,
        "currency": ctx.currency,
        "price_per_kwh": tariff.import_price_per_kwh,
        "coverage": _r(so_far.coverage, 4),
    }
    evidence = _evidence(
        "project_month",
        devices=list(ctx.devices),
        period=month,
        coverage=result["coverage"],
        whole_household=True,
        note=f"a projection, not a reading: the month so far as measured, plus each remaining "
        f"hour at the mean grid import of the same weekday and hour over the last "
        f"{args.basis_days} whole days, at today's prices. {COST_RULE} Here: {tariff.describe()}.",
    )
    evidence["basis_range"] = _period_evidence(basis)
    return result, evidence


__all__ = ["tool_explain_period", "tool_project_month"]


def tool_weekly_summary(ctx: ToolContext, args: SummaryArgs) -> tuple[dict, dict]:
    """The weekly summary of the Live page and ``energy-monitor summary``, as data: the week's
    totals against the week before and a year earlier, the devices that moved most, the
    always-on load and the alerts opened."""
    today = ctx.now.astimezone(ctx.household.tz).date()
    this_monday = today - timedelta(days=today.weekday())
    if args.week == "last":
        monday = this_monday - timedelta(days=7)
    elif args.week == "this":
        monday = this_monday
    else:
        monday = parse_week(args.week)
    if monday > today:
        raise ToolError(f"The week of {monday:%a %d %b %Y} has not started yet.")
    summary = weekly_summary(ctx.session, ctx.household, now=ctx.now, monday=monday)
    # insights_report builds on the chat's wording, which imports this package.
    from energy_core.insights_report import summary_json

    return summary_json(summary), _evidence(
        "weekly_summary",
        devices=ctx.devices,
        period=summary.period,
        coverage=None,
        whole_household=True,
        note="compared with the week before and the same dates a year earlier; a change in "
        "percent only where both weeks are well covered. " + COST_RULE,
    )

"""The chat tools about energy and money: the devices, energy, cost, rankings and comparisons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from energy_core.chat.periods import Period
from energy_core.chat.toolargs import (
    CompareArgs,
    CostArgs,
    EnergyArgs,
    ListDevicesArgs,
    TopDevicesArgs,
)
from energy_core.chat.toolbase import (
    Scope,
    ToolContext,
    _days,
    _energy,
    _evidence,
    _iso,
    _period_evidence,
    _r,
    _still_running,
    resolve_period,
    resolve_targets,
    scope_of,
)
from energy_core.stats import (
    COST_RULE,
    MAX_PERIODS,
    DeviceRef,
    Figure,
    compare,
    read_series,
    shares,
)


def tool_list_devices(ctx: ToolContext, args: ListDevicesArgs) -> tuple[dict, dict]:
    devices = [
        {
            "device_id": d.device_id,
            "name": d.name,
            "type": d.type,
            "location": d.location,
            "generator": d.is_generator,
            "grid_meter": d.is_grid_meter,
            "first_reading_at": _iso(d.first_at.astimezone(ctx.household.tz))
            if d.first_at
            else None,
        }
        for d in ctx.devices
    ]
    rooms = ctx.household.rooms
    result = {"devices": devices, "rooms": rooms, "count": len(devices)}
    return result, _evidence("list_devices", devices=ctx.devices, period=None, coverage=None)


def _series_rows(figures: list[Figure], *, priced: bool) -> list[dict[str, Any]]:
    rows = []
    for figure in figures:
        row = {"start": _iso(figure.start), "end": _iso(figure.end), **_energy(figure)}
        if not priced:
            row.pop("cost")
        rows.append(row)
    return rows


def _length_s(row: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(row["end"]) - datetime.fromisoformat(row["start"])
    ).total_seconds()


def _extremes(
    rows: list[dict[str, Any]], key: str, since: datetime | None = None
) -> tuple[dict | None, dict | None]:
    """The highest and lowest period with data. A period cut short by the range or by now (a
    week of one day at the start of a month, today so far), or begun before the first reading
    (``since``), is left out where whole ones are there to choose from: it would be the lowest
    only for being short."""
    with_data = [r for r in rows if r["coverage"] and r[key] is not None]
    if not with_data:
        return None, None
    longest = max(_length_s(r) for r in with_data)
    # A month of 28 days or a day of 23 hours is whole; a week of 6 days is not.
    whole = [
        r
        for r in with_data
        if _length_s(r) >= 0.9 * longest
        and (since is None or datetime.fromisoformat(r["start"]) >= since)
    ] or with_data
    for row in with_data:
        row["whole"] = row in whole
    return max(whole, key=lambda r: r[key]), min(whole, key=lambda r: r[key])


def _first_reading(scope: Scope) -> datetime | None:
    starts = [d.first_at for d in scope.devices if d.first_at is not None]
    return min(starts) if starts else None


def _energy_figures(scope: Scope, *, granularity: str, priced: bool = False) -> dict[str, Any]:
    ctx, period = scope.ctx, scope.period
    series = read_series(ctx.session, scope.select(granularity=granularity))
    total = series.total
    days = _days(period)
    consumption = total.consumption_wh
    result: dict[str, Any] = {
        **_energy(total),
        "consumption_kwh": _r(consumption / 1000.0, 4) if consumption is not None else None,
        "days": _r(days, 4),
        "per_day_wh": _r(consumption / days) if days and consumption is not None else None,
        "per_device": [
            {
                "device_id": f.device_id,
                "name": ctx.household.require_device(f.device_id).name,
                "location": ctx.household.require_device(f.device_id).location,
                "generator": ctx.household.require_device(f.device_id).is_generator,
                "consumption_wh": _r(f.consumption_wh),
                "generation_wh": _r(f.generation_wh),
                "coverage": _r(f.coverage, 4),
            }
            for f in sorted(series.device_totals(), key=lambda f: (-f.consumed_wh, -f.generated_wh))
        ],
    }
    if granularity != "total":
        rows = _series_rows(series.household, priced=priced)
        result["granularity"] = granularity
        result["series"] = rows
        highest, lowest = _extremes(rows, "consumption_wh", _first_reading(scope))
        result["highest"], result["lowest"] = highest, lowest
        if total.generation_wh:
            # A generator's best and worst period: by what it generated, not what it drew.
            most, least = _extremes(rows, "generation_wh", _first_reading(scope))
            result["highest_generation"], result["lowest_generation"] = most, least
    return result


def tool_energy_usage(ctx: ToolContext, args: EnergyArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    result = _energy_figures(scope, granularity=args.granularity)
    return scope.answer(
        "energy_usage",
        result,
        note="consumption_wh: energy drawn (readings of 0 W or more); generation_wh: energy "
        "produced (solar, batteries), positive; import_wh/export_wh: hour by hour",
    )


def tool_cost(ctx: ToolContext, args: CostArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    figures = _energy_figures(scope, granularity=args.granularity, priced=True)
    tariff = ctx.household.tariff
    result = {
        **figures,
        "currency": ctx.currency,
        "price_per_kwh": tariff.import_price_per_kwh,
        "export_price_per_kwh": tariff.export_price_per_kwh,
    }
    if args.granularity != "total":
        highest, lowest = _extremes(result["series"], "cost", _first_reading(scope))
        result["highest"], result["lowest"] = highest, lowest
    # What the generation saved (docs/metrics.md): the consumption of each hour at that hour's
    # import price, less the cost.
    without = _cost_without_generation(scope) if figures["generation_wh"] else None
    result["cost_without_generation"] = _r(without, 4)
    result["generation_saving"] = (
        _r(without - figures["cost"], 4)
        if without is not None and figures["cost"] is not None
        else None
    )
    return scope.answer(
        "cost",
        result,
        note=f"{COST_RULE} Here: {tariff.describe()}.",
    )


def _cost_without_generation(scope: Scope) -> float | None:
    """What the consumption of the scope would have cost with nothing generated: every hour's
    consumption bought at that hour's import price."""
    tariff = scope.ctx.household.tariff
    hours = (scope.period.end - scope.period.start).total_seconds() / 3600
    # A flat price needs no hours (and more than a year of them is too many periods).
    granularity = "hour" if tariff.plans and hours <= MAX_PERIODS else "total"
    tariff.load_prices(scope.period.start, scope.period.end)
    series = read_series(scope.ctx.session, scope.select(granularity=granularity), flows=False)
    total, any_data = 0.0, False
    for figure in series.household:
        if figure.consumption_wh is None:
            continue
        any_data = True
        hour = figure.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        total += figure.consumption_wh * tariff.prices_at(hour)[0] / 1000.0
    return total if any_data else None


def tool_top_devices(ctx: ToolContext, args: TopDevicesArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    series = read_series(ctx.session, scope.select(), flows=False)
    by_id = {d.device_id: d for d in scope.devices}
    # Shares of the selection's consumption, which includes a generator's standby draw: the
    # total is the one energy_usage states, though generators are listed apart, not ranked.
    found = [(by_id[s.figure.device_id], s) for s in shares(series) if s.figure.device_id in by_id]
    consumers = [(d, s) for d, s in found if not d.is_generator and not d.is_grid_meter]
    generators = [(d, s.figure) for d, s in found if d.is_generator]
    total_wh = series.total.consumed_wh
    ordered = sorted(
        consumers, key=lambda ds: ds[1].figure.consumed_wh, reverse=args.order == "most"
    )
    ranking = [
        {
            "rank": i + 1,
            "device_id": d.device_id,
            "name": d.name,
            "location": d.location,
            "type": d.type,
            "consumption_wh": _r(share.figure.consumption_wh),
            "share": _r(share.consumption_share, 4),
            "avg_w": _r(share.figure.avg_w),
            "coverage": _r(share.figure.coverage, 4),
        }
        for i, (d, share) in enumerate(ordered[: args.limit])
    ]
    if args.group_by == "room":
        rooms: dict[str, list[tuple[DeviceRef, Figure]]] = {}
        for d, share in consumers:
            rooms.setdefault(d.location or "(no room)", []).append((d, share.figure))
        room_rows = sorted(
            (
                (room, sum(f.consumed_wh for _, f in members), members)
                for room, members in rooms.items()
            ),
            key=lambda row: row[1],
            reverse=args.order == "most",
        )
        ranking = []
        for i, (room, energy_wh, members) in enumerate(room_rows[: args.limit]):
            covered = sum(f.covered_s for _, f in members)
            spans = sum(f.span_s for _, f in members)
            ranking.append(
                {
                    "rank": i + 1,
                    "room": room,
                    "devices": [d.device_id for d, _ in members],
                    "consumption_wh": _r(energy_wh),
                    "share": _r(energy_wh / total_wh, 4) if total_wh > 0 else None,
                    "coverage": _r(min(covered / spans, 1.0), 4) if spans else None,
                }
            )
    result = {
        "order": args.order,
        "group_by": args.group_by,
        "ranking": ranking,
        "total_wh": _r(series.total.consumption_wh),
        "generation": [
            {"device_id": d.device_id, "name": d.name, "generation_wh": _r(f.generation_wh)}
            for d, f in generators
        ],
        "coverage": _r(series.total.coverage, 4),
    }
    return scope.answer(
        "top_devices",
        result,
        note="generating devices are listed apart, not ranked",
    )


def _comparison_side(period: Period, figure: Figure) -> dict:
    days = _days(period)
    consumption = figure.consumption_wh
    return {
        "label": period.label,
        "start": _iso(period.start),
        "end": _iso(period.end),
        "partial": _still_running(period),
        **_energy(figure),
        "days": _r(days, 4),
        "per_day_wh": _r(consumption / days) if days and consumption is not None else None,
    }


def _compare_side(ctx: ToolContext, args: CompareArgs, side: str) -> Period:
    return resolve_period(
        ctx,
        period=getattr(args, f"{side}_period"),
        start=getattr(args, f"{side}_start"),
        end=getattr(args, f"{side}_end"),
        time_of_day=args.time_of_day,
        label=getattr(args, f"{side}_label"),
    )


def tool_compare_periods(ctx: ToolContext, args: CompareArgs) -> tuple[dict, dict]:
    first = _compare_side(ctx, args, "first")
    second = (
        _compare_side(ctx, args, "second")
        if args.second_period or args.second_start
        else first.previous()
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    scope = Scope(ctx, first, devices, household)
    together, *_ = compare(ctx.session, scope.select(), second, settings=ctx.settings)
    a = _comparison_side(first, together.current)
    b = _comparison_side(second, together.baseline)
    change = together.change("consumption_wh")
    per_day_change = None
    if change.comparable and a["per_day_wh"] and b["per_day_wh"]:
        per_day_change = _r((a["per_day_wh"] - b["per_day_wh"]) / b["per_day_wh"] * 100, 2)
    # The same change of the cost (the tariff can differ between the periods), only where the
    # energy change is comparable.
    cost_change = per_day_cost_change = None
    if change.comparable and a["cost"] and b["cost"]:
        cost_change = _r((a["cost"] - b["cost"]) / b["cost"] * 100, 2)
        if a["days"] and b["days"]:
            a_day, b_day = a["cost"] / a["days"], b["cost"] / b["days"]
            per_day_cost_change = _r((a_day - b_day) / b_day * 100, 2)
    result = {
        "first": a,
        "second": b,
        "difference_wh": _r(change.delta),
        "cost_change_pct": cost_change,
        "per_day_cost_change_pct": per_day_cost_change,
        "change_pct": _r(change.ratio * 100, 2) if change.ratio is not None else None,
        "per_day_change_pct": per_day_change,
        "comparable": change.comparable,
        "not_comparable_because": None if change.comparable else change.reason,
    }
    coverages = [c for c in (a["coverage"], b["coverage"]) if c is not None]
    evidence = scope.evidence(
        "compare_periods",
        coverage=min(coverages) if coverages else None,
        note=f"a change in percent needs both periods covered at least "
        f"{ctx.settings.comparable_coverage:.0%}",
    )
    evidence["second_range"] = _period_evidence(second)
    return result, evidence

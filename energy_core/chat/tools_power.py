"""The chat tools about power and time: profiles, power and peaks, the always-on load, device
status and data coverage."""

from __future__ import annotations

from energy_core.chat.toolargs import (
    BaseloadArgs,
    CoverageArgs,
    PowerArgs,
    ProfileArgs,
    StatusArgs,
)
from energy_core.chat.toolbase import (
    ToolContext,
    _consumers,
    _evidence,
    _iso,
    _r,
    scope_of,
)
from energy_core.stats import (
    baseload,
    hour_of_day_profile,
    household_now,
    locate_extremes,
    peak_hour,
    read_series,
    weekday_hour_profile,
)
from energy_core.stats.instant import power_extremes, reading_gaps

# Gaps are listed for a few devices at a time (each device's readings are read for them).
MAX_GAP_DEVICES = 20
LISTED_GAPS = 10


def _usual_hours(rows: list[dict]) -> list[int]:
    """The hours of the day whose average power is at least half the busiest hour's: when the
    selection usually runs."""
    top = max((r["avg_w"] for r in rows if r["avg_w"] is not None), default=None)
    if not top or top <= 0:
        return []
    return [r["hour"] for r in rows if r["avg_w"] is not None and r["avg_w"] >= top / 2]


def _profile_summary(rows: list[dict]) -> dict:
    rows = [r for r in rows if r["avg_w"] is not None]
    by_power = sorted(rows, key=lambda r: r["avg_w"], reverse=True)
    days = sum(r["days"] for r in rows) / 24 if rows else 0
    return {
        "profile": rows,
        "peak_hours": by_power[:3],
        "quietest_hours": by_power[-3:][::-1],
        "usual_hours": _usual_hours(rows),
        # The typical day: the hour-of-day averages added up (W over one hour = Wh).
        "typical_day_wh": _r(sum(r["avg_w"] for r in rows)) if len(rows) == 24 else None,
        "days": _r(days, 2),
    }


def _split_rows(cells: list, weekdays: set[int]) -> list[dict]:
    rows = []
    for hour in range(24):
        chosen = [c for c in cells if c.hour == hour and c.weekday in weekdays and c.hours]
        hours = sum(c.hours for c in chosen)
        if not hours:
            continue
        mean = sum(c.avg_w * c.hours for c in chosen) / hours
        rows.append({"hour": hour, "avg_w": _r(mean), "days": hours})
    return rows


def tool_hourly_profile(ctx: ToolContext, args: ProfileArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args, default="last 30 days")
    selection = scope.select()
    # The glossary's coverage, as every other answer states it (not the share of hours used).
    coverage = _r(read_series(ctx.session, selection, flows=False).total.coverage, 4)
    if args.split == "weekday_weekend":
        cells = weekday_hour_profile(ctx.session, selection)
        weekday = _profile_summary(_split_rows(cells, {0, 1, 2, 3, 4}))
        weekend = _profile_summary(_split_rows(cells, {5, 6}))
        result = {
            "split": "weekday_weekend",
            "weekday": weekday,
            "weekend": weekend,
            "coverage": coverage,
        }
        note = (
            "average consumption power in each local hour, over weekdays (Mon-Fri) and over "
            "weekends (Sat-Sun) apart; the typical day is the 24 hourly averages added up"
        )
    else:
        profile = hour_of_day_profile(ctx.session, selection)
        rows = [{"hour": c.hour, "avg_w": _r(c.avg_w), "days": c.hours} for c in profile]
        result = {"split": "none", **_profile_summary(rows)}
        result["coverage"] = coverage
        note = (
            "average consumption power in each local hour of the day (hours covered at least "
            "half); usual hours: at least half the busiest hour's average"
        )
    return scope.answer("hourly_profile", result, note=note)


def tool_power_stats(ctx: ToolContext, args: PowerArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    selection = scope.select(granularity="hour")
    series = read_series(ctx.session, selection, flows=False)
    peak = peak_hour(series.household)
    total = series.total
    tz = ctx.household.tz
    figures = [locate_extremes(ctx.session, selection, f) for f in series.device_totals()]
    result = {
        "per_device": [
            {
                "device_id": f.device_id,
                "name": ctx.household.require_device(f.device_id).name,
                "avg_w": _r(f.avg_w),
                "avg_generation_w": _r(f.avg_generation_w),
                "max_w": _r(f.max_w),
                "max_at": _iso(f.max_at.astimezone(tz)) if f.max_at else None,
                "min_w": _r(f.min_w),
                "min_at": _iso(f.min_at.astimezone(tz)) if f.min_at else None,
                "coverage": _r(f.coverage, 4),
            }
            for f in figures
        ],
        "household_avg_w": _r(total.avg_w),
        **_instant_extremes(ctx, selection),
        "peak_hour_avg_w": _r(peak.avg_w) if peak else None,
        "peak_hour_start": _iso(peak.start.astimezone(tz)) if peak else None,
        "coverage": _r(total.coverage, 4),
    }
    return scope.answer(
        "power_stats",
        result,
        note="avg_w: consumption over the covered time; max_w/min_w are single readings; "
        "peak_hour_avg_w is the highest hourly average consumption of the devices together; "
        "together_max_w/together_min_w: the devices' power added up at one instant (consumers "
        "only), where every device taking part holds a reading",
    )


def _instant_extremes(ctx: ToolContext, selection) -> dict:  # noqa: ANN001
    """The devices' highest and lowest power together at one instant, with when; for one
    device its own readings say it (max_w, min_w)."""
    if len([d for d in selection.devices if not d.is_grid_meter]) < 2:
        return {}
    found = power_extremes(ctx.session, selection)
    tz = ctx.household.tz
    return {
        "together_max_w": _r(found.max_w),
        "together_max_at": _iso(found.max_at.astimezone(tz)) if found.max_at else None,
        "together_min_w": _r(found.min_w),
        "together_min_at": _iso(found.min_at.astimezone(tz)) if found.min_at else None,
    }


def tool_baseload(ctx: ToolContext, args: BaseloadArgs) -> tuple[dict, dict]:
    figures = baseload(
        ctx.session, ctx.household, now=ctx.now, days=args.days, percentile=args.percentile
    )
    annual_kwh = figures.baseload_w * 8.76 if figures.baseload_w is not None else None
    result = {
        "baseload_w": _r(figures.baseload_w),
        "percentile": figures.percentile,
        "days": args.days,
        "hours_used": figures.hours_used,
        "hours_total": figures.hours_total,
        "annual_kwh": _r(annual_kwh),
        "annual_cost": _r(annual_kwh * ctx.price_per_kwh, 2) if annual_kwh is not None else None,
        "currency": ctx.currency,
        "coverage": _r(figures.coverage, 4),
    }
    return result, _evidence(
        "baseload",
        devices=_consumers(ctx.devices),
        period=figures.period,
        coverage=figures.coverage,
        whole_household=True,
        note=f"{figures.percentile}th percentile of hourly household consumption, hours with "
        ">= 90% coverage only",
    )


def tool_device_status(ctx: ToolContext, args: StatusArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    wanted = {d.device_id for d in scope.devices}
    now = household_now(ctx.session, ctx.household, now=ctx.now)
    tz = ctx.household.tz
    rows = [
        {
            "device_id": s.device_id,
            "name": s.device.name,
            "location": s.device.location,
            "online": s.online,
            "power_w": _r(s.power_w),
            "last_reading_at": _iso(s.reading_at.astimezone(tz)) if s.reading_at else None,
            "today_consumption_wh": _r(s.today.consumption_wh),
            "today_generation_wh": _r(s.today.generation_wh),
        }
        for s in now.devices
        if s.device_id in wanted
    ]
    result = {
        "devices": rows,
        "online": sum(r["online"] for r in rows),
        "offline": sum(not r["online"] for r in rows),
        "as_of": _iso(ctx.now),
    }
    return scope.answer(
        "device_status",
        result,
        note="online = the latest reading still holds power (within the device's max gap)",
    )


def tool_data_coverage(ctx: ToolContext, args: CoverageArgs) -> tuple[dict, dict]:
    scope = scope_of(ctx, args)
    selection = scope.select()
    series = read_series(ctx.session, selection, flows=False)
    totals = {f.device_id: f for f in series.device_totals()}
    tz = ctx.household.tz
    gaps = reading_gaps(ctx.session, selection) if len(scope.devices) <= MAX_GAP_DEVICES else {}
    rows = []
    for device in scope.devices:
        figure = totals.get(device.device_id)
        found = gaps.get(device.device_id, [])
        longest = sorted(found, key=lambda g: g[0] - g[1])[:LISTED_GAPS]
        rows.append(
            {
                "device_id": device.device_id,
                "name": device.name,
                "coverage": _r(figure.coverage, 4) if figure else None,
                "missing_hours": _r((figure.span_s - figure.covered_s) / 3600, 2)
                if figure
                else None,
                "readings": figure.sample_count if figure else 0,
                "gap_count": len(found) if device.device_id in gaps else None,
                # The longest gaps, in time order: when the device was offline.
                "gaps": [
                    {
                        "start": _iso(lo.astimezone(tz)),
                        "end": _iso(hi.astimezone(tz)),
                        "minutes": _r((hi - lo).total_seconds() / 60, 1),
                    }
                    for lo, hi in sorted(longest)
                ],
                "first_reading_at": _iso(device.first_at.astimezone(tz))
                if device.first_at
                else None,
            }
        )
    result = {"per_device": rows, "coverage": _r(series.total.coverage, 4)}
    return scope.answer(
        "data_coverage",
        result,
        note="coverage counts each device from its first reading on; gaps: the stretches no "
        f"reading of a device holds (offline or not sending), the {LISTED_GAPS} longest",
    )

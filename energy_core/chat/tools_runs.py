"""The chat tool about runs and thresholds: how long and when the power of devices (or of the
household) was above or below a level, and an appliance's runs (one wash, one charge) with what
each used and cost and the times it usually starts (``energy_core.stats.runs``)."""

from __future__ import annotations

from collections import Counter
from statistics import median

from pydantic import Field

from energy_core.chat.toolargs import TimeOfDay, _phrase_defaulting_to, _SpanArgs, _TargetArgs
from energy_core.chat.toolbase import Scope, ToolContext, _iso, _r, scope_of
from energy_core.stats import DEFAULT_STANDBY_W
from energy_core.stats.period import hours_of
from energy_core.stats.runs import Run, consumption_during, runs_beyond

LISTED_RUNS = 20


class RunsArgs(_SpanArgs, _TargetArgs):
    period: str | None = _phrase_defaulting_to(
        "last 30 days for an appliance's runs, the last 7 days for a level"
    )
    threshold_w: float | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="The level in watts ('above 2 kW' = 2000). Empty: the standby level "
        f"({DEFAULT_STANDBY_W:g} W), so that each run of an appliance (a wash, a charge) is one.",
    )
    below: bool = Field(False, description="True for the time below the level instead.")
    time_of_day: TimeOfDay | None = Field(
        None, description="Only the runs that start in these local hours ('in the evening')."
    )
    join_minutes: float | None = Field(
        None,
        ge=0,
        le=240,
        description="Pauses shorter than this join two runs into one (default: 15 minutes for "
        "an appliance's runs at the standby level, none for a level given).",
    )
    household_during: bool = Field(
        False,
        description="Also what the whole household used during these runs ('how much did the "
        "house use while the car was charging').",
    )


def _run(run: Run, ctx: ToolContext, generation: bool) -> dict:
    tz = ctx.household.tz
    return {
        "start": _iso(run.start.astimezone(tz)),
        "end": _iso(run.end.astimezone(tz)),
        "minutes": _r(run.duration_s / 60, 1),
        "energy_wh": _r(run.energy_wh),
        "peak_w": _r(run.peak_w, 1),
        "cost": None if generation else _r(run.cost, 4),
        "switched_on": run.rose,
    }


def _household_during(ctx: ToolContext, scope: Scope, runs: list[Run]) -> dict:
    whole = ctx.household.select(scope.period)
    energy_wh, covered_s = consumption_during(ctx.session, whole, runs)
    own_wh = sum(r.energy_wh for r in runs)
    run_s = sum(r.duration_s for r in runs)
    return {
        "energy_wh": _r(energy_wh),
        "others_wh": _r(max(0.0, energy_wh - own_wh)),
        "own_wh": _r(own_wh),
        "hours": _r(run_s / 3600, 3),
        "coverage": _r(covered_s / run_s, 4) if run_s else None,
    }


def tool_power_runs(ctx: ToolContext, args: RunsArgs) -> tuple[dict, dict]:
    # An appliance's runs are counted over the last 30 days unless a range is given (a week
    # holds too few washes to speak of one); a level over the last 7 days, as other figures.
    scope = scope_of(ctx, args, default="last 30 days" if args.threshold_w is None else None)
    selection = scope.select()
    level = DEFAULT_STANDBY_W if args.threshold_w is None else args.threshold_w
    join_minutes = args.join_minutes
    if join_minutes is None:
        join_minutes = 15.0 if args.threshold_w is None else 0.0
    found = runs_beyond(
        ctx.session, selection, threshold_w=level, below=args.below, join_s=join_minutes * 60
    )
    tz = ctx.household.tz
    runs = found.runs
    hours = hours_of(args.time_of_day)
    if hours is not None:
        runs = [r for r in runs if r.start.astimezone(tz).hour in hours]
    # Only a run that rose past the level was switched on then: one already on when the range
    # began, or first seen after a gap in the readings, has no start time.
    starts = [r.start.astimezone(tz) for r in runs if r.rose]
    # The same for the ends: a run still on when the range ends has not ended.
    ends = [r.end.astimezone(tz) for r in runs if r.end < selection.end]
    end_minutes = [e.hour * 60 + e.minute for e in ends]
    end_middle = median(end_minutes) if end_minutes else None
    start_hours = Counter(s.hour for s in starts)
    minutes_of_day = [s.hour * 60 + s.minute for s in starts]
    middle = median(minutes_of_day) if minutes_of_day else None
    period_s = (selection.end - selection.start).total_seconds()
    result = {
        "threshold_w": level,
        "below": args.below,
        "generation": found.generation,
        "join_minutes": join_minutes,
        "runs": len(runs),
        "hours_beyond": _r(found.above_s / 3600, 3),
        "covered_hours": _r(found.covered_s / 3600, 3),
        "share_of_covered": _r(found.above_s / found.covered_s, 4) if found.covered_s else None,
        "energy_wh": _r(sum(r.energy_wh for r in runs)),
        "cost": None if found.generation else _r(sum(r.cost for r in runs), 4),
        "per_run": (
            {
                "energy_wh": _r(sum(r.energy_wh for r in runs) / len(runs)),
                "cost": None if found.generation else _r(sum(r.cost for r in runs) / len(runs), 4),
                "minutes": _r(sum(r.duration_s for r in runs) / len(runs) / 60, 1),
            }
            if runs
            else None
        ),
        "first": _run(runs[0], ctx, found.generation) if runs else None,
        "last": _run(runs[-1], ctx, found.generation) if runs else None,
        "longest": (
            _run(max(runs, key=lambda r: r.duration_s), ctx, found.generation) if runs else None
        ),
        "listed": [_run(r, ctx, found.generation) for r in runs[:LISTED_RUNS]],
        "start_hours": [{"hour": h, "runs": n} for h, n in start_hours.most_common()],
        "median_start": f"{int(middle) // 60:02d}:{int(middle) % 60:02d}" if starts else None,
        "starts": len(starts),
        "end_hours": [
            {"hour": h, "runs": n} for h, n in Counter(e.hour for e in ends).most_common()
        ],
        "median_end": (f"{int(end_middle) // 60:02d}:{int(end_middle) % 60:02d}" if ends else None),
        "on_at_start": bool(runs) and not runs[0].rose,
        "days_with_runs": len({r.start.astimezone(tz).date() for r in runs}),
        "truncated": found.truncated,
        "currency": ctx.currency,
        "coverage": _r(found.covered_s / period_s, 4) if period_s > 0 else None,
    }
    if args.household_during:
        result["household_during"] = _household_during(ctx, scope, runs)
    side = "below" if args.below else "above"
    what = "generated power" if found.generation else "consumption power (generators left out)"
    return scope.answer(
        "power_runs",
        result,
        note=f"runs: stretches of the {what} of the devices together {side} {level:g} W, from "
        f"the raw readings; pauses under {join_minutes:g} min join two runs; a run's cost is its "
        "energy at the import price of its hours (solar not deducted); coverage: the share of "
        "the range that some reading of these devices holds",
    )


__all__ = ["RunsArgs", "tool_power_runs"]

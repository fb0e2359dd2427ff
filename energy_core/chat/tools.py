"""The chat tools: the only way either engine reaches data (DESIGN.md section 7).

Each tool is a read-only function over the signed-in user's data with a typed argument model;
the model's JSON schema is what an LLM sees. The user id lives in the ``ToolContext`` the server
builds, never in the arguments, and every device or room named in a call is resolved among that
user's devices only. Each call returns plain data plus its evidence: the tool, the devices, the
range with its timezone, and the coverage of the data behind the numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from energy_core.chat.devices import UnknownDeviceError, resolve_reference
from energy_core.chat.periods import (
    Period,
    PeriodError,
    default_period,
    explicit_period,
    parse_period,
    with_time_of_day,
)
from energy_core.settings import Settings, get_settings
from energy_core.stats import (
    COST_RULE,
    DeviceRef,
    Figure,
    Household,
    Selection,
    baseload,
    compare,
    hour_of_day_profile,
    household_now,
    load_household,
    peak_hour,
    read_series,
)
from energy_core.types import utcnow

log = logging.getLogger(__name__)

# Series longer than this are cut in what is sent to a model (the full series stays in evidence
# for the page); a model does not need 8,760 hourly numbers to answer.
MAX_SERIES_FOR_MODEL = 120
MAX_RESULT_CHARS = 12_000


class ToolError(ValueError):
    """A call that cannot be answered as asked; the message says what to change."""


@dataclass
class ToolContext:
    """Who is asking and when. Built by the server from the signed-in user, never by a model."""

    session: Session
    user_id: int
    now: datetime
    household: Household
    settings: Settings

    @classmethod
    def load(
        cls,
        session: Session,
        *,
        user_id: int,
        now: datetime | None = None,
        settings: Settings | None = None,
    ) -> ToolContext:
        settings = settings or get_settings()
        try:
            household = load_household(session, user_id=user_id, settings=settings)
        except LookupError as exc:
            raise LookupError(f"No user with id {user_id}.") from exc
        return cls(
            session=session,
            user_id=user_id,
            now=(now or utcnow()).astimezone(household.tz),
            household=household,
            settings=settings,
        )

    @property
    def timezone(self) -> str:
        return self.household.timezone

    @property
    def devices(self) -> list[DeviceRef]:
        return list(self.household.devices)

    @property
    def price_per_kwh(self) -> float:
        return self.household.tariff.import_price_per_kwh

    @property
    def currency(self) -> str:
        return self.household.currency

    def select(
        self,
        period: Period,
        devices: list[DeviceRef],
        whole: bool,
        *,
        granularity: str = "total",
    ) -> Selection:
        """The selection a call is about: the whole household, or exactly ``devices``."""
        if whole:
            return self.household.select(period, granularity=granularity)
        return self.household.select(period, devices=devices, granularity=granularity)


@dataclass
class ToolCall:
    """One call as made, with what it returned (or why it was refused)."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "evidence": self.evidence,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(
            name=data.get("tool", ""),
            arguments=data.get("arguments") or {},
            result=data.get("result"),
            evidence=data.get("evidence"),
            error=data.get("error"),
        )

    def for_model(self) -> str:
        """What a model is sent back: the result (series cut short) and the evidence, as JSON."""
        if self.error:
            return json.dumps({"error": self.error})
        result = dict(self.result or {})
        for key, value in list(result.items()):
            if isinstance(value, list) and len(value) > MAX_SERIES_FOR_MODEL:
                result[key] = value[:MAX_SERIES_FOR_MODEL]
                result[f"{key}_note"] = (
                    f"{len(value)} entries, first {MAX_SERIES_FOR_MODEL} shown; ask for a "
                    "coarser granularity"
                )
        text = json.dumps({"result": result, "evidence": self.evidence}, default=str)
        if len(text) > MAX_RESULT_CHARS:
            text = json.dumps(
                {
                    "result": {k: v for k, v in result.items() if not isinstance(v, list)},
                    "evidence": self.evidence,
                    "note": "lists left out for size; ask for a shorter range",
                },
                default=str,
            )
        return text


# --- argument models ---------------------------------------------------------------------------

TimeOfDay = Literal["night", "morning", "afternoon", "evening"]
GranularityArg = Literal["total", "hour", "day", "week", "month"]
_PERIOD_HELP = (
    "The range in words, resolved in the user's timezone: 'today', 'yesterday', 'this week', "
    "'last week', 'this month', 'last month', 'October 2025', 'last 7 days', 'on Monday', "
    "'2026-03-05'. Use this or start/end; neither means the last 7 days."
)
_START_HELP = "Start of the range: ISO 8601 date or date-time; no offset = the user's local time."
_END_HELP = "End of the range (exclusive), same format as start. Defaults to now."
_DEVICES_HELP = (
    "Devices by id, name or type as the user says them ('fridge', 'heat pump'). Empty = the "
    "whole household."
)
_ROOMS_HELP = "Rooms / locations ('Kitchen'). Empty = all rooms."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


_LABEL_HELP = "How the user named an explicit start/end range ('last week'); shown with it."


class _RangeArgs(_Args):
    period: str | None = Field(None, max_length=100, description=_PERIOD_HELP)
    start: str | None = Field(None, max_length=40, description=_START_HELP)
    end: str | None = Field(None, max_length=40, description=_END_HELP)
    label: str | None = Field(None, max_length=80, description=_LABEL_HELP)
    time_of_day: TimeOfDay | None = Field(
        None,
        description="Only these local hours: night 22-06, morning 06-12, afternoon 12-18, "
        "evening 18-22.",
    )


class _TargetArgs(_Args):
    devices: list[str] = Field(default_factory=list, max_length=20, description=_DEVICES_HELP)
    rooms: list[str] = Field(default_factory=list, max_length=20, description=_ROOMS_HELP)


class ListDevicesArgs(_Args):
    pass


class EnergyArgs(_RangeArgs, _TargetArgs):
    granularity: GranularityArg = Field(
        "total", description="'total' for one figure, or a series per hour/day/week/month."
    )


class TopDevicesArgs(_RangeArgs):
    rooms: list[str] = Field(default_factory=list, max_length=20, description=_ROOMS_HELP)
    limit: int = Field(5, ge=1, le=20, description="How many devices to list.")
    order: Literal["most", "least"] = Field("most", description="Biggest or smallest users first.")
    group_by: Literal["device", "room"] = Field("device", description="Rank devices or rooms.")


class CompareArgs(_TargetArgs):
    first_period: str | None = Field(None, max_length=100, description=_PERIOD_HELP)
    first_start: str | None = Field(None, max_length=40, description=_START_HELP)
    first_end: str | None = Field(None, max_length=40, description=_END_HELP)
    first_label: str | None = Field(None, max_length=80, description=_LABEL_HELP)
    second_period: str | None = Field(
        None,
        max_length=100,
        description="The period to compare with. Empty = the period of the same kind just "
        "before the first ('this week' -> 'last week').",
    )
    second_start: str | None = Field(None, max_length=40, description=_START_HELP)
    second_end: str | None = Field(None, max_length=40, description=_END_HELP)
    second_label: str | None = Field(None, max_length=80, description=_LABEL_HELP)
    time_of_day: TimeOfDay | None = Field(None, description="Only these local hours in both.")


class ProfileArgs(_TargetArgs):
    period: str | None = Field(
        None, max_length=100, description=_PERIOD_HELP.replace("last 7 days", "last 30 days")
    )
    start: str | None = Field(None, max_length=40, description=_START_HELP)
    end: str | None = Field(None, max_length=40, description=_END_HELP)
    label: str | None = Field(None, max_length=80, description=_LABEL_HELP)


class PowerArgs(_RangeArgs, _TargetArgs):
    pass


class BaseloadArgs(_Args):
    days: int = Field(7, ge=1, le=60, description="Whole days before today to look at.")
    percentile: int = Field(
        10, ge=1, le=50, description="Low percentile of hourly household power that counts."
    )


class CostArgs(_RangeArgs, _TargetArgs):
    granularity: GranularityArg = Field(
        "total", description="'total', or a cost per hour/day/week/month ('most expensive day')."
    )


class StatusArgs(_Args):
    devices: list[str] = Field(
        default_factory=list, max_length=20, description="Devices to report; empty = all."
    )


class CoverageArgs(_RangeArgs):
    devices: list[str] = Field(default_factory=list, max_length=20, description=_DEVICES_HELP)


# --- helpers -----------------------------------------------------------------------------------


def _parse_instant(text: str, *, tz: ZoneInfo, what: str) -> datetime:
    text = text.strip()
    try:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=tz)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ToolError(
            f"{what}={text!r} is not an ISO 8601 date or date-time (e.g. 2026-03-05 or "
            "2026-03-05T18:00)."
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def resolve_period(
    ctx: ToolContext,
    *,
    period: str | None,
    start: str | None,
    end: str | None,
    time_of_day: str | None = None,
    label: str | None = None,
    default: Callable[[], Period] | None = None,
) -> Period:
    """The range a call asks for, in the user's timezone, cut at now."""
    tz = ZoneInfo(ctx.timezone)
    try:
        if start or end:
            if not start:
                raise ToolError("Give a start with the end of the range.")
            lo = _parse_instant(start, tz=tz, what="start")
            hi = _parse_instant(end, tz=tz, what="end") if end else ctx.now
            result = explicit_period(lo, hi, now=ctx.now, timezone=ctx.timezone, label=label)
        elif period:
            result = parse_period(period, now=ctx.now, timezone=ctx.timezone)
        else:
            result = (default or (lambda: default_period(now=ctx.now, timezone=ctx.timezone)))()
    except PeriodError as exc:
        raise ToolError(str(exc)) from exc
    if time_of_day:
        result = with_time_of_day(result, time_of_day)
    return result


def resolve_targets(
    ctx: ToolContext, *, devices: list[str], rooms: list[str]
) -> tuple[list[DeviceRef], bool]:
    """The user's devices named by ``devices`` and ``rooms`` (all of them when both are empty),
    and whether that is the whole household."""
    if not devices and not rooms:
        return list(ctx.devices), True
    chosen: list[DeviceRef] = []
    try:
        for reference in devices:
            chosen.extend(d for d in resolve_reference(reference, ctx.devices) if d not in chosen)
        for room in rooms:
            in_room = [d for d in resolve_reference(room, ctx.devices) if d.location]
            chosen.extend(d for d in in_room if d not in chosen)
    except UnknownDeviceError as exc:
        raise ToolError(str(exc)) from exc
    return chosen, False


def _seconds(start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two datetimes of the same zone by wall clock (wrong across DST).
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _period_evidence(period: Period) -> dict[str, Any]:
    return {
        "label": period.label,
        "start": _iso(period.start),
        "end": _iso(period.end),
        "timezone": period.timezone,
        "time_of_day": period.time_of_day,
        "partial": period.is_partial,
        "description": period.describe(),
    }


def _device_evidence(devices: list[DeviceRef]) -> list[dict[str, Any]]:
    return [
        {"device_id": d.device_id, "name": d.name, "location": d.location, "type": d.type}
        for d in devices
    ]


def _evidence(
    tool: str,
    *,
    devices: list[DeviceRef],
    period: Period | None,
    coverage: float | None,
    whole_household: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "tool": tool,
        "devices": _device_evidence(devices),
        "whole_household": whole_household,
        "range": _period_evidence(period) if period else None,
        "coverage": None if coverage is None else round(coverage, 4),
        "note": note,
    }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _energy(figure: Figure) -> dict[str, Any]:
    """The glossary's figures of one ``Figure`` (docs/metrics.md), None where there is no data."""
    return {
        "consumption_wh": _r(figure.consumption_wh),
        "generation_wh": _r(figure.generation_wh),
        "net_wh": _r(figure.net_wh),
        "import_wh": _r(figure.import_wh),
        "export_wh": _r(figure.export_wh),
        "cost": _r(figure.cost, 4),
        "coverage": _r(figure.coverage, 4),
    }


# --- the tools ---------------------------------------------------------------------------------


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


def _extremes(rows: list[dict[str, Any]], key: str) -> tuple[dict | None, dict | None]:
    with_data = [r for r in rows if r["coverage"] and r[key] is not None]
    if not with_data:
        return None, None
    return max(with_data, key=lambda r: r[key]), min(with_data, key=lambda r: r[key])


def _energy_figures(
    ctx: ToolContext,
    *,
    devices: list[DeviceRef],
    whole: bool,
    period: Period,
    granularity: str,
    priced: bool = False,
) -> dict[str, Any]:
    selection = ctx.select(period, devices, whole, granularity=granularity)
    series = read_series(ctx.session, selection)
    total = series.total
    days = _seconds(period.start, period.end) / 86_400
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
        highest, lowest = _extremes(rows, "consumption_wh")
        result["highest"], result["lowest"] = highest, lowest
    return result


def tool_energy_usage(ctx: ToolContext, args: EnergyArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=args.time_of_day,
        label=args.label,
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    result = _energy_figures(
        ctx, devices=devices, whole=household, period=period, granularity=args.granularity
    )
    return result, _evidence(
        "energy_usage",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note="consumption_wh: energy drawn (readings of 0 W or more); generation_wh: energy "
        "produced (solar, batteries), positive; import_wh/export_wh: hour by hour",
    )


def tool_cost(ctx: ToolContext, args: CostArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=args.time_of_day,
        label=args.label,
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    figures = _energy_figures(
        ctx,
        devices=devices,
        whole=household,
        period=period,
        granularity=args.granularity,
        priced=True,
    )
    tariff = ctx.household.tariff
    result = {
        **figures,
        "currency": ctx.currency,
        "price_per_kwh": tariff.import_price_per_kwh,
        "export_price_per_kwh": tariff.export_price_per_kwh,
    }
    if args.granularity != "total":
        highest, lowest = _extremes(result["series"], "cost")
        result["highest"], result["lowest"] = highest, lowest
    return result, _evidence(
        "cost",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note=f"{COST_RULE} Here: {tariff.describe()}.",
    )


def _consumers(devices: list[DeviceRef]) -> list[DeviceRef]:
    return [d for d in devices if not d.is_generator and not d.is_grid_meter]


def tool_top_devices(ctx: ToolContext, args: TopDevicesArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=args.time_of_day,
        label=args.label,
    )
    devices, household = resolve_targets(ctx, devices=[], rooms=args.rooms)
    series = read_series(ctx.session, ctx.select(period, devices, household), flows=False)
    totals = {f.device_id: f for f in series.device_totals()}
    by_id = {d.device_id: d for d in devices}
    consumers = [
        (by_id[i], f)
        for i, f in totals.items()
        if i in by_id and not by_id[i].is_generator and not by_id[i].is_grid_meter
    ]
    generators = [(by_id[i], f) for i, f in totals.items() if i in by_id and by_id[i].is_generator]
    total_wh = sum(f.consumed_wh for _, f in consumers)
    ordered = sorted(consumers, key=lambda df: df[1].consumed_wh, reverse=args.order == "most")
    ranking = [
        {
            "rank": i + 1,
            "device_id": d.device_id,
            "name": d.name,
            "location": d.location,
            "type": d.type,
            "consumption_wh": _r(f.consumption_wh),
            "share": _r(f.consumed_wh / total_wh, 4) if total_wh > 0 else None,
            "avg_w": _r(f.avg_w),
            "coverage": _r(f.coverage, 4),
        }
        for i, (d, f) in enumerate(ordered[: args.limit])
    ]
    if args.group_by == "room":
        rooms: dict[str, list[tuple[DeviceRef, Figure]]] = {}
        for d, f in consumers:
            rooms.setdefault(d.location or "(no room)", []).append((d, f))
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
        "total_wh": _r(total_wh),
        "generation": [
            {"device_id": d.device_id, "name": d.name, "generation_wh": _r(f.generation_wh)}
            for d, f in generators
        ],
        "coverage": _r(series.total.coverage, 4),
    }
    return result, _evidence(
        "top_devices",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note="generating devices are listed apart, not ranked",
    )


def _comparison_side(period: Period, figure: Figure) -> dict:
    days = _seconds(period.start, period.end) / 86_400
    consumption = figure.consumption_wh
    return {
        "label": period.label,
        "start": _iso(period.start),
        "end": _iso(period.end),
        "partial": period.is_partial,
        **_energy(figure),
        "days": _r(days, 4),
        "per_day_wh": _r(consumption / days) if days and consumption is not None else None,
    }


def tool_compare_periods(ctx: ToolContext, args: CompareArgs) -> tuple[dict, dict]:
    first = resolve_period(
        ctx,
        period=args.first_period,
        start=args.first_start,
        end=args.first_end,
        time_of_day=args.time_of_day,
        label=args.first_label,
    )
    if args.second_period or args.second_start:
        second = resolve_period(
            ctx,
            period=args.second_period,
            start=args.second_start,
            end=args.second_end,
            time_of_day=args.time_of_day,
            label=args.second_label,
        )
    else:
        second = first.previous()
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    together, *_ = compare(
        ctx.session, ctx.select(first, devices, household), second, settings=ctx.settings
    )
    a = _comparison_side(first, together.current)
    b = _comparison_side(second, together.baseline)
    change = together.change("consumption_wh")
    per_day_change = None
    if change.comparable and a["per_day_wh"] and b["per_day_wh"]:
        per_day_change = _r((a["per_day_wh"] - b["per_day_wh"]) / b["per_day_wh"] * 100, 2)
    result = {
        "first": a,
        "second": b,
        "difference_wh": _r(change.delta),
        "change_pct": _r(change.ratio * 100, 2) if change.ratio is not None else None,
        "per_day_change_pct": per_day_change,
        "comparable": change.comparable,
        "not_comparable_because": None if change.comparable else change.reason,
    }
    coverages = [c for c in (a["coverage"], b["coverage"]) if c is not None]
    evidence = _evidence(
        "compare_periods",
        devices=devices,
        period=first,
        coverage=min(coverages) if coverages else None,
        whole_household=household,
        note=f"a change in percent needs both periods covered at least "
        f"{ctx.settings.comparable_coverage:.0%}",
    )
    evidence["second_range"] = _period_evidence(second)
    return result, evidence


def tool_hourly_profile(ctx: ToolContext, args: ProfileArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        label=args.label,
        default=lambda: parse_period("last 30 days", now=ctx.now, timezone=ctx.timezone),
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    profile = hour_of_day_profile(ctx.session, ctx.select(period, devices, household))
    rows = [{"hour": c.hour, "avg_w": _r(c.avg_w), "days": c.hours} for c in profile]
    by_power = sorted(rows, key=lambda r: r["avg_w"], reverse=True)
    hours = _seconds(period.start, period.end) / 3600
    coverage = sum(r["days"] for r in rows) / max(1.0, hours)
    result = {
        "profile": rows,
        "peak_hours": by_power[:3],
        "quietest_hours": by_power[-3:][::-1],
        "coverage": _r(min(coverage, 1.0), 4),
    }
    return result, _evidence(
        "hourly_profile",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note="average consumption power in each local hour of the day (hours covered at least "
        "half)",
    )


def tool_power_stats(ctx: ToolContext, args: PowerArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=args.time_of_day,
        label=args.label,
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=args.rooms)
    selection = ctx.select(period, devices, household, granularity="hour")
    series = read_series(ctx.session, selection, flows=False)
    peak = peak_hour(series.household)
    total = series.total
    result = {
        "per_device": [
            {
                "device_id": f.device_id,
                "name": ctx.household.require_device(f.device_id).name,
                "avg_w": _r(f.avg_w),
                "avg_generation_w": _r(f.avg_generation_w),
                "max_w": _r(f.max_w),
                "min_w": _r(f.min_w),
                "coverage": _r(f.coverage, 4),
            }
            for f in series.device_totals()
        ],
        "household_avg_w": _r(total.avg_w),
        "peak_hour_avg_w": _r(peak.avg_w) if peak else None,
        "peak_hour_start": _iso(peak.start) if peak else None,
        "coverage": _r(total.coverage, 4),
    }
    return result, _evidence(
        "power_stats",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note="avg_w: consumption over the covered time; max_w/min_w are single readings; "
        "peak_hour_avg_w is the highest hourly average consumption of the devices together",
    )


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
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=[])
    wanted = {d.device_id for d in devices}
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
    return result, _evidence(
        "device_status",
        devices=devices,
        period=None,
        coverage=None,
        whole_household=household,
        note="online = the latest reading still holds power (within the device's max gap)",
    )


def tool_data_coverage(ctx: ToolContext, args: CoverageArgs) -> tuple[dict, dict]:
    period = resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=args.time_of_day,
        label=args.label,
    )
    devices, household = resolve_targets(ctx, devices=args.devices, rooms=[])
    series = read_series(ctx.session, ctx.select(period, devices, household), flows=False)
    totals = {f.device_id: f for f in series.device_totals()}
    tz = ctx.household.tz
    rows = []
    for device in devices:
        figure = totals.get(device.device_id)
        rows.append(
            {
                "device_id": device.device_id,
                "name": device.name,
                "coverage": _r(figure.coverage, 4) if figure else None,
                "missing_hours": _r((figure.span_s - figure.covered_s) / 3600, 2)
                if figure
                else None,
                "readings": figure.sample_count if figure else 0,
                "first_reading_at": _iso(device.first_at.astimezone(tz))
                if device.first_at
                else None,
            }
        )
    result = {"per_device": rows, "coverage": _r(series.total.coverage, 4)}
    return result, _evidence(
        "data_coverage",
        devices=devices,
        period=period,
        coverage=result["coverage"],
        whole_household=household,
        note="coverage counts each device from its first reading on",
    )


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[_Args]
    run: Callable[[ToolContext, Any], tuple[dict, dict]]

    def openai_schema(self) -> dict[str, Any]:
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "list_devices",
            "The user's devices with their ids, types and rooms, and which generate power.",
            ListDevicesArgs,
            tool_list_devices,
        ),
        Tool(
            "energy_usage",
            "Energy used (kWh) over a range by the household, some devices or rooms; optionally "
            "as a series per hour/day/week/month with the highest and lowest period.",
            EnergyArgs,
            tool_energy_usage,
        ),
        Tool(
            "top_devices",
            "Devices ranked by energy used over a range (optionally only at night etc.).",
            TopDevicesArgs,
            tool_top_devices,
        ),
        Tool(
            "compare_periods",
            "Energy of two periods side by side, with the difference and per-day averages.",
            CompareArgs,
            tool_compare_periods,
        ),
        Tool(
            "hourly_profile",
            "Average power in each hour of the day over a range, and the peak hours.",
            ProfileArgs,
            tool_hourly_profile,
        ),
        Tool(
            "power_stats",
            "Average and peak power (W) of devices and the household over a range.",
            PowerArgs,
            tool_power_stats,
        ),
        Tool(
            "baseload",
            "The always-on load: a low percentile of hourly household power over recent days, "
            "with what it costs in a year.",
            BaseloadArgs,
            tool_baseload,
        ),
        Tool(
            "cost",
            "Cost of the energy used over a range at the user's price, optionally per period "
            "(e.g. per day, for the most expensive day).",
            CostArgs,
            tool_cost,
        ),
        Tool(
            "device_status",
            "Whether each device is online now, its current power, last reading and energy today.",
            StatusArgs,
            tool_device_status,
        ),
        Tool(
            "data_coverage",
            "How complete the data is over a range, per device (share of time with readings).",
            CoverageArgs,
            tool_data_coverage,
        ),
    )
}


def tool_schemas() -> list[dict[str, Any]]:
    return [tool.openai_schema() for tool in TOOLS.values()]


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    return "Invalid arguments: " + "; ".join(problems)


def run_tool(ctx: ToolContext, name: str, arguments: str | dict[str, Any] | None) -> ToolCall:
    """Validate and run one call. Refusals (unknown tool, bad JSON, invalid arguments, devices
    that are not the user's) come back as a ToolCall with ``error`` set and no data."""
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolCall(name, {"raw": arguments[:500]}, error=f"Arguments are not JSON: {exc}")
    else:
        parsed = arguments or {}
    if not isinstance(parsed, dict):
        return ToolCall(name, {"raw": str(parsed)[:500]}, error="Arguments must be a JSON object.")
    tool = TOOLS.get(name)
    if tool is None:
        return ToolCall(
            name[:100],
            parsed,
            error=f"Unknown tool {name[:100]!r}. Available: {', '.join(TOOLS)}.",
        )
    try:
        args = tool.args_model.model_validate(parsed)
    except ValidationError as exc:
        return ToolCall(name, parsed, error=_validation_message(exc))
    try:
        result, evidence = tool.run(ctx, args)
    except ToolError as exc:
        return ToolCall(name, args.model_dump(exclude_defaults=True), error=str(exc))
    except ValueError as exc:
        # energy_series refuses ranges it cannot answer in one query (too many periods).
        return ToolCall(name, args.model_dump(exclude_defaults=True), error=str(exc))
    log.debug("tool %s ran for user %s", name, ctx.user_id)
    return ToolCall(name, args.model_dump(exclude_defaults=True), result, evidence)


__all__ = [
    "TOOLS",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "resolve_period",
    "resolve_targets",
    "run_tool",
    "tool_schemas",
]

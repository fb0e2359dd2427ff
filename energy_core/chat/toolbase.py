"""What every chat tool shares: who is asking (``ToolContext``), one call as made (``ToolCall``),
and turning words or instants into the user's periods and devices, with the evidence of each."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from energy_core import clock
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
from energy_core.stats import DeviceRef, Figure, Household, Selection, load_household

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
            now=(now or clock.now(settings)).astimezone(household.tz),
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


def _default_range(ctx: ToolContext, phrase: str | None) -> Period:
    if phrase is None:
        return default_period(now=ctx.now, timezone=ctx.timezone)
    return parse_period(phrase, now=ctx.now, timezone=ctx.timezone)


def resolve_period(
    ctx: ToolContext,
    *,
    period: str | None,
    start: str | None,
    end: str | None,
    time_of_day: str | None = None,
    label: str | None = None,
    default: str | None = None,
    days: str | None = None,
) -> Period:
    """The range a call asks for, in the user's timezone, cut at now; when it names none, the
    period the phrase ``default`` says (or the usual default)."""
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
            result = _default_range(ctx, default)
    except PeriodError as exc:
        raise ToolError(str(exc)) from exc
    if time_of_day:
        result = with_time_of_day(result, time_of_day)
    if days:
        result = result.with_days(days)
    return result


def period_of(ctx: ToolContext, args: Any, *, default: str | None = None) -> Period:
    """The range of a call whose arguments name one (``period``, ``start``, ``end``, ``label``
    and, where the tool has it, ``time_of_day``)."""
    return resolve_period(
        ctx,
        period=args.period,
        start=args.start,
        end=args.end,
        time_of_day=getattr(args, "time_of_day", None),
        label=args.label,
        default=default,
        days=getattr(args, "days", None),
    )


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


@dataclass(frozen=True)
class Scope:
    """What one call is about: its period (None for a call about now), the devices it names and
    whether that is the whole household. Every tool states its evidence from it."""

    ctx: ToolContext
    period: Period | None
    devices: list[DeviceRef]
    whole: bool

    def select(self, *, granularity: str = "total") -> Selection:
        """The selection of the call: the whole household, or exactly its devices."""
        household = self.ctx.household
        if self.whole:
            return household.select(self.period, granularity=granularity)
        return household.select(self.period, devices=self.devices, granularity=granularity)

    def answer(self, tool: str, result: dict[str, Any], *, note: str) -> tuple[dict, dict]:
        """A call's result with its evidence, whose coverage is the result's."""
        return result, self.evidence(tool, coverage=result.get("coverage"), note=note)

    def evidence(
        self,
        tool: str,
        *,
        coverage: float | None,
        note: str | None = None,
        devices: list[DeviceRef] | None = None,
    ) -> dict[str, Any]:
        return _evidence(
            tool,
            devices=self.devices if devices is None else devices,
            period=self.period,
            coverage=coverage,
            whole_household=self.whole,
            note=note,
        )


def scope_of(ctx: ToolContext, args: Any, *, default: str | None = None) -> Scope:
    """The scope a call's arguments name: its period where the tool takes one (``default`` as
    for ``period_of``), and the devices and rooms of the fields the tool has."""
    period = period_of(ctx, args, default=default) if hasattr(args, "period") else None
    devices, whole = resolve_targets(
        ctx, devices=getattr(args, "devices", []), rooms=getattr(args, "rooms", [])
    )
    return Scope(ctx, period, devices, whole)


def _seconds(start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two datetimes of the same zone by wall clock (wrong across DST).
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def _days(period: Period, until: datetime | None = None) -> float:
    """How many days ``period`` holds until ``until`` (its end): with a part of the day ("at
    night"), its hours of that part over the part's length (only on its days of the week, if it
    keeps some), so that this morning at 12:45 is one
    whole morning (not half a day) and a figure per day compares with yesterday morning's."""
    until = period.end if until is None else until
    hours, weekdays = period.hours, period.weekdays
    if hours is None and weekdays is None:
        return _seconds(period.start, until) / 86_400
    hours = frozenset(range(24)) if hours is None else hours
    tz = period.tz
    counted = 0.0
    moment = period.start.astimezone(UTC)
    stop = until.astimezone(UTC)
    while moment < stop:
        local = moment.astimezone(tz)
        boundary = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        nxt = min(boundary + timedelta(hours=1), stop)
        if local.hour in hours and (weekdays is None or local.weekday() in weekdays):
            counted += (nxt - moment).total_seconds()
        moment = nxt
    return counted / (len(hours) * 3600)


def _still_running(period: Period) -> bool:
    """Now cuts ``period`` short before the end of its hours: "this morning" after noon is over
    though today is not."""
    return period.is_partial and _days(period, period.full_end) > _days(period) + 1e-9


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _period_evidence(period: Period) -> dict[str, Any]:
    return {
        "label": period.label,
        "start": _iso(period.start),
        "end": _iso(period.end),
        "timezone": period.timezone,
        "time_of_day": period.time_of_day,
        "partial": _still_running(period),
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
        "self_consumption_wh": _r(figure.self_consumption_wh),
        "self_sufficiency": _r(figure.self_sufficiency, 4),
        "cost": _r(figure.cost, 4),
        "coverage": _r(figure.coverage, 4),
    }


def _consumers(devices: list[DeviceRef]) -> list[DeviceRef]:
    return [d for d in devices if not d.is_generator and not d.is_grid_meter]

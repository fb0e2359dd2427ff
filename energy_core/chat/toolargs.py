"""The chat tools' argument models: their JSON schemas are what a model sees, and the offline
analyst fills in the same fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A named part of the day, or whole clock hours "HH-HH" ("07-09": 07:00 to 09:00 every day).
TimeOfDay = Annotated[
    str,
    Field(
        pattern=r"^(night|morning|afternoon|evening|daytime|[0-2]\d-[0-2]\d)$",
        description="Only these local hours of every day: night 22-06, morning 06-12, "
        "afternoon 12-18, evening 18-22, daytime 06-22, or whole clock hours 'HH-HH' "
        "('07-09' is 07:00 to 09:00).",
    ),
]
DaysOfWeek = Literal[
    "weekdays",
    "weekends",
    "mondays",
    "tuesdays",
    "wednesdays",
    "thursdays",
    "fridays",
    "saturdays",
    "sundays",
]
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


_LABEL_HELP = "How the user named an explicit start/end range ('last week'); shown with it."

# The fields that name a range, each defined once (a tool with two ranges prefixes them).
Phrase = Annotated[str | None, Field(max_length=100, description=_PERIOD_HELP)]
Start = Annotated[str | None, Field(max_length=40, description=_START_HELP)]
End = Annotated[str | None, Field(max_length=40, description=_END_HELP)]
Label = Annotated[str | None, Field(max_length=80, description=_LABEL_HELP)]


def _phrase_defaulting_to(default: str) -> Any:
    """The ``period`` field of a tool whose default range is not the last 7 days."""
    return Field(None, max_length=100, description=_PERIOD_HELP.replace("last 7 days", default))


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _SpanArgs(_Args):
    period: Phrase = None
    start: Start = None
    end: End = None
    label: Label = None


class _RangeArgs(_SpanArgs):
    time_of_day: TimeOfDay | None = None
    days: DaysOfWeek | None = Field(
        None,
        description="Only these local days of the range: 'weekdays' (Monday to Friday), "
        "'weekends' (Saturday and Sunday) or one day of each week ('mondays'). Empty: every day.",
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
    first_period: Phrase = None
    first_start: Start = None
    first_end: End = None
    first_label: Label = None
    second_period: str | None = Field(
        None,
        max_length=100,
        description="The period to compare with. Empty = the period of the same kind just "
        "before the first ('this week' -> 'last week').",
    )
    second_start: Start = None
    second_end: End = None
    second_label: Label = None
    time_of_day: TimeOfDay | None = Field(None, description="Only these local hours in both.")


class ProfileArgs(_SpanArgs, _TargetArgs):
    period: str | None = _phrase_defaulting_to("last 30 days")
    split: Literal["none", "weekday_weekend"] = Field(
        "none", description="'weekday_weekend' for a profile of weekdays and one of weekends."
    )


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


class ExplainArgs(_SpanArgs, _TargetArgs):
    period: str | None = _phrase_defaulting_to("yesterday")
    baseline_days: int = Field(
        28, ge=7, le=60, description="Days before the period that make the typical day."
    )


class SummaryArgs(_Args):
    week: str = Field(
        "last",
        pattern=r"^(last|this|\d{4}-W\d{2})$",
        description="'last' (the last whole week, Monday to Sunday), 'this' (the week so far) or "
        "an ISO week such as '2026-W48'.",
    )


class ProjectArgs(_Args):
    basis_days: int = Field(
        28, ge=7, le=60, description="Days before now whose typical hours make the projection."
    )

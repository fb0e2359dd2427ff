"""The question model as a tool: a model fills in the same fields the offline analyst parses a
question into (``question.Question``), and the offline analyst's answer comes back with every
figure behind it. Names are resolved strictly among the user's own devices and rooms: a name that
matches nothing (or only nearly) is refused with the user's devices listed, never substituted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from energy_core.chat.devices import UnknownDeviceError, resolve_reference
from energy_core.chat.periods import PeriodError, parse_period
from energy_core.chat.question import Question, Target
from energy_core.chat.toolargs import TimeOfDay, _Args
from energy_core.chat.toolbase import ToolCall, ToolContext, ToolError, _evidence

KindArg = Literal[
    "total",
    "ranking",
    "extreme_period",
    "comparison",
    "profile",
    "peak",
    "explain",
    "forecast",
    "solar",
    "baseload",
    "coverage",
    "status",
    "summary",
    "inventory",
    "tariff",
    "bill",
    "budget",
    "what_if",
    "standing_charge",
    "cheapest_time",
]
MetricArg = Literal["energy", "cost", "power", "generation"]
GroupingArg = Literal["device", "room", "hour", "day", "week", "month", "weekday"]


class QuestionArgs(_Args):
    kind: KindArg = Field(
        "total",
        description="The kind of answer: a total (or a breakdown with grouping), a ranking, the "
        "highest/lowest period, a comparison, the typical profile of the day, the peak power "
        "with when, why a period was high (explain), this month's bill projected (forecast), "
        "solar self-consumed vs exported, the always-on load, coverage, status, the device "
        "list, the tariff; the billing period's bill so far and projected (bill), the budget, "
        "what a saved alternative tariff would have cost over the last months (what_if), the "
        "standing charge, the cheapest hours to run something (cheapest_time).",
    )
    metrics: list[MetricArg] = Field(
        default_factory=lambda: ["energy"], max_length=4, description="What is measured."
    )
    devices: list[str] = Field(
        default_factory=list, max_length=20, description="Devices as the user names them."
    )
    rooms: list[str] = Field(default_factory=list, max_length=20, description="Rooms.")
    periods: list[str] = Field(
        default_factory=list,
        max_length=2,
        description="Periods in words ('yesterday', 'November', 'Sunday 22 November', 'the "
        "12th', 'from 1 to 7 November', 'last weekend'); two for a comparison of periods.",
    )
    times_of_day: list[TimeOfDay] = Field(
        default_factory=list, max_length=2, description="Parts of the day; two to compare them."
    )
    comparison: Literal["previous", "periods", "selections", "same_day_last_week"] | None = Field(
        None,
        description="previous: the period before; periods: the two named; selections: the "
        "devices of 'versus' side by side; same_day_last_week.",
    )
    versus: list[str] = Field(
        default_factory=list,
        max_length=4,
        description="For comparison=selections: each device or room to set side by side.",
    )
    grouping: GroupingArg | None = Field(None, description="A breakdown or a ranking by this.")
    order: Literal["most", "least"] = "most"
    limit: int = Field(5, ge=1, le=20, description="How many rows of a ranking.")


def _resolve(ctx: ToolContext, names: list[str]) -> list:  # noqa: ANN202 - DeviceRefs
    found = []
    for name in names:
        found.extend(d for d in resolve_reference(name, ctx.devices) if d not in found)
    return found


def tool_answer_question(ctx: ToolContext, args: QuestionArgs) -> tuple[dict, dict]:
    # The analyst's answers run the other tools themselves; imported here to avoid a cycle.
    from energy_core.chat.offline import HANDLERS
    from energy_core.chat.tools import run_tool

    try:
        devices = _resolve(ctx, args.devices)
        rooms = [r for r in args.rooms if any(d.location == r for d in ctx.devices)]
        unknown_rooms = [r for r in args.rooms if r not in rooms]
        if unknown_rooms:
            raise UnknownDeviceError(
                f"No room of yours is called {unknown_rooms[0]!r}. Your rooms: "
                f"{', '.join(ctx.household.rooms) or 'none'}."
            )
        sides = [Target(devices=tuple(_resolve(ctx, [name]))) for name in args.versus]
        periods = [parse_period(p, now=ctx.now, timezone=ctx.timezone) for p in args.periods]
    except (UnknownDeviceError, PeriodError) as exc:
        raise ToolError(str(exc)) from exc
    q = Question(
        text="",
        kind=args.kind,
        metrics=list(args.metrics),
        target=Target(devices=tuple(devices), rooms=tuple(rooms)),
        sides=sides,
        periods=periods,
        time_of_day=args.times_of_day[0] if len(args.times_of_day) == 1 else None,
        times_of_day=list(args.times_of_day),
        comparison=args.comparison
        or ("times_of_day" if len(args.times_of_day) > 1 else None)
        or ("selections" if sides else None),
        grouping=args.grouping,
        order=args.order,
        limit=args.limit,
    )
    if q.kind == "comparison" and q.comparison is None:
        q.comparison = "periods" if len(periods) > 1 else "previous"
    calls: list[ToolCall] = []

    def call(name: str, **arguments: Any) -> ToolCall:
        made = run_tool(ctx, name, arguments)
        calls.append(made)
        return made

    text = HANDLERS[q.kind](ctx, q, call)
    made = [c for c in calls if c.ok]
    result = {
        "answer": text,
        "figures": [{"tool": c.name, "result": c.result} for c in made],
    }
    if made and made[0].evidence:
        evidence = {**made[0].evidence, "tool": "answer_question"}
    else:
        evidence = _evidence("answer_question", devices=devices, period=None, coverage=None)
    evidence["note"] = (
        "the offline analyst's answer to the question as given; its figures are the results of "
        + (", ".join(c.name for c in made) or "no tool")
    )
    return result, evidence


__all__ = ["QuestionArgs", "tool_answer_question"]

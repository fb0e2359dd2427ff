"""The question model: what a question asks, between its words and the tools.

The offline analyst parses a question into a ``Question`` (``understand.understand``) and answers
from it (``offline``); every figure of the answer then comes from one tool call over the shared
read layer. A question that cannot be answered as asked (a name that matches nothing or several
things, a period in the future, something outside the household's meters) says so in
``problem``/``kind`` instead of being guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from energy_core.stats import DeviceRef, Period

Metric = Literal[
    "energy",
    "cost",
    "power",
    "peak",
    "health",  # a device's runs against its own usual pattern ("is the fridge working properly")
    "baseload",
    "coverage",
    "status",
    "generation",
    "import",
    "export",
    "self_consumption",
]
# The kind of answer asked for.
Kind = Literal[
    "total",  # one figure (or a breakdown by ``grouping``)
    "ranking",  # devices or rooms ranked by a metric
    "extreme_period",  # the highest/lowest day, hour, week, month
    "comparison",  # two periods or two selections side by side
    "threshold",  # how long / when power was above (or below) a level
    "runs",  # an appliance's runs: what one costs, how many, when they usually start
    "profile",  # the typical hour of day / weekday-weekend pattern
    "peak",  # the highest power, with when
    "explain",  # why a period was high: what differed from the typical day
    "forecast",  # the month projected (the bill)
    "solar",  # generation split into self-consumed and exported
    "tariff",  # the prices
    "bill",  # the billing period's bill so far and projected
    "average_bill",  # the average bill of the past whole billing periods
    "bill_without",  # the bill less what some devices' consumption cost
    "budget",  # the bill against the budget
    "what_if",  # the last months under a saved alternative tariff
    "standing_charge",
    "cheapest_time",  # the cheapest hours of the day to run something
    "baseload",
    "coverage",
    "status",
    "summary",  # a week at a glance: totals, changes, movers, always-on load, alerts
    "inventory",  # the devices and rooms
    "help",
    "clarify",  # several things match a name, or a near miss: ask back
    "unknown_name",  # a name that matches nothing of the household's
    "out_of_scope",  # not about the household's meters (or an instruction to the analyst)
    "future",  # a future period other than the bill projection
    "vague_period",  # a period only the household knows ("while we were away", "the cold snap")
    "period_error",
]
Comparison = Literal[
    "previous", "periods", "selections", "same_day_last_week", "last_year", "times_of_day"
]
Grouping = Literal[
    "device", "room", "hour", "day", "week", "month", "hour_of_day", "weekday", "night"
]


@dataclass(frozen=True)
class Target:
    """The devices a question is about: named devices, rooms, or (neither) the whole household."""

    devices: tuple[DeviceRef, ...] = ()
    rooms: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.devices and not self.rooms

    def device_ids(self) -> list[str]:
        return [d.device_id for d in self.devices]


@dataclass(frozen=True)
class Option:
    """One thing a name may mean, as a question the user can pick (a button on the page)."""

    label: str
    question: str


@dataclass
class Question:
    text: str
    kind: Kind = "total"
    metrics: list[Metric] = field(default_factory=lambda: ["energy"])
    target: Target = field(default_factory=Target)
    # X versus Y: one selection per side (``comparison == "selections"``).
    sides: list[Target] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    time_of_day: str | None = None
    days: str | None = None  # "weekdays" or "weekends": only those days of the period count
    times_of_day: list[str] = field(default_factory=list)  # "mornings versus evenings"
    comparison: Comparison | None = None
    grouping: Grouping | None = None
    order: Literal["most", "least"] = "most"
    limit: int = 5
    per_day: bool = False  # "a day", "on average": a daily average with the total
    per_hour: bool = False  # "what does it cost per hour": the average hour, not a breakdown
    per_year: bool = False  # "a year", "annually": the daily average over 365 days as well
    # tariff: the prices of a day ("tomorrow's tariff"), and the hour asked about ("at 7pm")
    price_day: Literal["today", "tomorrow"] | None = None
    price_hour: int | None = None
    tariff_name: str | None = None  # what_if: the saved alternative named
    months: int = 3  # what_if: how many months back
    threshold_w: float | None = None  # threshold: the level in watts
    below: bool = False  # threshold: below the level instead of above
    # A total checked against an amount of energy ("more than 50 kWh?"): (Wh, below).
    energy_level: tuple[float, bool] | None = None
    money_level: tuple[float, bool] | None = None  # the same with a cost ("over £50?")
    # runs: what is asked of them (what one costs, when they start or end, how many, how long)
    # "household": what the whole household used during the runs
    run_view: Literal["cost", "start", "end", "count", "time", "last", "household"] = "cost"
    notes: list[str] = field(default_factory=list)  # said about the reading of the question
    # What could not be resolved, for the answer to say so.
    problem: str | None = None
    unknown_names: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    @property
    def metric(self) -> Metric:
        return self.metrics[0] if self.metrics else "energy"

    @property
    def period(self) -> Period | None:
        return self.periods[0] if self.periods else None


__all__ = ["Comparison", "Grouping", "Kind", "Metric", "Option", "Question", "Target"]

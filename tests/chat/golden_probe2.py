"""Golden cases of questions a later probe round found answered wrongly: the hours of the day
ranked, "since I got the heat pump" (from the device's first reading; with nothing before it to
compare with, said so), a yearly rate of energy alone, "did the solar cover my usage", energy
per degree (no temperatures are kept) and waste words read as device names. Expected figures
come from the golden oracle (raw readings), apart from the read layer.
"""

from __future__ import annotations

from energy_core.chat.wording import kwh, money
from tests.chat.conftest import NOW
from tests.chat.golden_cases import (
    EV,
    FRIDGE,
    HEAT,
    LAST_MONTH,
    ROLLING_3D,
    ROLLING_7D,
    ROLLING_30D,
    ROUTER,
    THIS_MONTH,
    TODAY,
    YESTERDAY,
    Case,
    cost,
    day,
    energy,
    profile,
    refused,
    solar,
)
from tests.chat.golden_known import offline
from tests.chat.golden_oracle import Oracle

FIRST_DAY = day(10, 23)  # the day of the demo household's first readings, all devices at once


def per_year_energy(question: str, devices) -> Case:  # noqa: ANN001
    """A year at the rate of the last 7 days, of energy alone (the energy tool has no currency)."""
    days = (NOW - ROLLING_7D[0]).total_seconds() / 86_400
    return Case(
        "device",
        question,
        "energy_usage",
        lambda o: {"consumption_wh": o.energy(*ROLLING_7D, devices)},
        lambda o: [kwh(o.energy(*ROLLING_7D, devices) / days * 365), "a projection"],
    )


def since(question: str, devices=None, extra: tuple[str, ...] = ()) -> Case:  # noqa: ANN001
    return Case(
        "dates",
        question,
        "energy_usage",
        lambda o: {"consumption_wh": o.energy(FIRST_DAY, NOW, devices)},
        lambda o: [kwh(o.energy(FIRST_DAY, NOW, devices)), *extra],
    )


def checked(question: str, level_kwh: float, verdict: str) -> Case:
    """November's total checked against an amount written with a thousands separator."""
    return Case(
        "dates",
        question,
        "energy_usage",
        lambda o: {"consumption_wh": o.energy(LAST_MONTH, THIS_MONTH)},
        lambda o: [verdict, f"than {kwh(level_kwh * 1000)}"],
    )


def share(question: str, devices, place: int) -> Case:  # noqa: ANN001
    """A device's share of the household's use: the ranking of the last 7 days, with its kWh."""
    return Case(
        "ranking",
        question,
        "top_devices",
        lambda o: {
            f"ranking.{place}.device_id": devices[0],
            f"ranking.{place}.consumption_wh": o.energy(*ROLLING_7D, devices),
        },
        lambda o: [kwh(o.energy(*ROLLING_7D, devices))],
    )


def always_on(question: str, devices) -> Case:  # noqa: ANN001
    """The time a device ran over the last 30 days (it never paused: one run, all the time)."""

    def hours(o: Oracle) -> float:
        runs = o.runs(*ROLLING_30D, devices, 5.0, join_s=900.0)
        return sum((hi - lo).total_seconds() for lo, hi, _ in runs) / 3600

    return Case(
        "appliance runs",
        question,
        "power_runs",
        lambda o: {"hours_beyond": hours(o), "runs": 1},
        lambda o: ["100% of the time with readings"],
    )


DEMO_BUDGET = 205.0


def budget_left(question: str) -> Case:
    """The budget less the bill so far (no standing charge or tax in the demo's tariff), and
    that over the 30 days from today to 31 December."""

    def left(o: Oracle) -> float:
        return DEMO_BUDGET - o.cost(THIS_MONTH, NOW)

    return Case(
        "bill",
        question,
        "bill",
        lambda o: {"current.total": o.cost(THIS_MONTH, NOW)},
        lambda o: [f"{money(left(o), 'GBP')} left", f"{money(left(o) / 30, 'GBP')} a day"],
    )


PROBE2_CASES = [
    profile("rank the hours of the day by usage"),
    profile("which hours of the day cost the most"),
    profile("order my hours by use"),
    since(
        "how much more am I using since I got the heat pump",
        extra=("nothing from before it to compare with",),
    ),
    since("since the heat pump was installed how much has it used", HEAT),
    since("how much have I used since we got the ev charger"),
    since("how much has the ev charger used since I installed the ev charger", EV),
    per_year_energy("how much energy does the fridge use per year", FRIDGE),
    per_year_energy("how much is the router wasting a year", ROUTER),
    solar("did the solar cover my usage today", TODAY, NOW),
    refused("out of scope", "how much did the heat pump use per degree"),
    refused("out of scope", "what is my usage per degree day"),
    # Month abbreviations alone, dates with dots, numbers with thousands separators
    energy("dates", "heatpump kwh nov", LAST_MONTH, THIS_MONTH, HEAT),
    energy("dates", "how much did I use in nov", LAST_MONTH, THIS_MONTH),
    energy("dates", "how much did I use on 01.11.2026", day(11, 1), day(11, 2)),
    checked("did I use more than 1.000 kWh last month", 1000.0, "**Yes**"),
    checked("was my usage over 1,046 kWh in november", 1046.0, "**Yes**"),
    checked("did I use less than 1.046,0 kWh last month", 1046.0, "**No**"),
    cost("cost", "ev cost 2 weeks", day(11, 19), NOW, EV),
    energy("dates", "heat pump usage 3 days", *ROLLING_3D, HEAT),
    budget_left("how much is left in my budget"),
    budget_left("how much can I spend per day to stay on budget"),
    share("how much of my usage is the ev", EV, 1),
    share("what percentage of my electricity is the heat pump", HEAT, 0),
    Case(
        "explain",
        "is my usage normal for this time of year",
        "explain_period",
        lambda o: {"devices.0.device_id": o.explain(YESTERDAY, TODAY)[0][0]},
        lambda o: ["not with the same time last year"],
    ),
    # "when was it offline" without a period looks back 30 days, not 7
    offline("when was the fridge offline", *ROLLING_30D),
    offline("when did the fridge go offline", *ROLLING_30D),
    always_on("is the router always on", ROUTER),
    always_on("is the heat pump on 24/7", HEAT),
]

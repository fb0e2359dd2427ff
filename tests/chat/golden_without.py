"""Golden cases of what the household did around one device: the household's consumption while
the device ran (its runs, then everything's use within them), and the bill as it would have been
without the device (the bill less its consumption's cost hour by hour; where the household's own
generation covered it, the part not imported would have been exported, at the export price).
Expected figures come from the golden oracle (raw readings), apart from the read layer.
"""

from __future__ import annotations

from datetime import timedelta

from energy_core.chat.wording import kwh
from tests.chat.conftest import NOW
from tests.chat.golden_cases import (
    EV,
    HEAT,
    LAST_MONTH,
    LAST_WEEK,
    ROLLING_30D,
    THIS_MONTH,
    THIS_WEEK,
    WASHER,
    Case,
)
from tests.chat.golden_oracle import Oracle

STANDBY_W, JOIN_S = 5.0, 900.0


def _during(o: Oracle, start, end, device) -> dict[str, float]:  # noqa: ANN001
    runs = o.runs(start, end, device, STANDBY_W, join_s=JOIN_S)
    house = sum(o.energy(lo, hi) or 0.0 for lo, hi, _ in runs)
    own = sum(wh for _, _, wh in runs)
    return {"runs": len(runs), "household_during.energy_wh": house, "household_during.own_wh": own}


def during(question: str, start, end, device) -> Case:  # noqa: ANN001
    return Case(
        "household during",
        question,
        "power_runs",
        lambda o: _during(o, start, end, device),
        lambda o: [kwh(_during(o, start, end, device)["household_during.energy_wh"])],
    )


def _saving(o: Oracle, start, end, device) -> float:  # noqa: ANN001
    """The device's consumption at the import price where the household imported as much, the
    rest (its own generation, else exported) at the export price (none credited here)."""
    saving = 0.0
    hour = start
    while hour < end:
        nxt = min(hour + timedelta(hours=1), end)
        own = o.energy(hour, nxt, device) or 0.0
        imported = o.sums(hour, nxt).imported
        saving += min(own, imported) * o.raw.price / 1000
        hour = nxt
    return saving


def without(question: str, device, extra: list[str] = ()) -> Case:  # noqa: ANN001, B006
    return Case(
        "bill without",
        question,
        "bill",
        lambda o: {
            "without.last.total_saving": _saving(o, LAST_MONTH, THIS_MONTH, device),
            "without.current.total_saving": _saving(o, THIS_MONTH, NOW, device),
        },
        lambda o: ["as billed", "hour by hour", *extra],
    )


WITHOUT_CASES = [
    during("how much did the house use while the car was charging", *ROLLING_30D, EV),
    during(
        "what did everything else use while the washing machine was running last week",
        LAST_WEEK,
        THIS_WEEK,
        WASHER,
    ),
    during("total consumption during the ev charging last month", LAST_MONTH, THIS_MONTH, EV),
    during("how much did we use whenever the washer was on", *ROLLING_30D, WASHER),
    during(
        "how much did the rest of the house use when the heat pump was running", *ROLLING_30D, HEAT
    ),
    without("what would my bill be without the heat pump", HEAT, ["from your own generation"]),
    without("how much would I pay if I didnt have the ev charger", EV),
    without("my bill if we got rid of the heat pump", HEAT),
    without("bill excluding the ev charger", EV),
    without("what would I have paid last month without the heat pump", HEAT),
]

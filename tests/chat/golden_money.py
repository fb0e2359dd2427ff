"""The golden set's money questions: the bill of the billing period and its projection, the
budget, what a saved alternative tariff would have cost, the standing charge and the cheapest
hours, asked several ways, about the demo household (a flat price, no budget, nothing saved to
compare with) and a third household, the saver: a boiler drawing 1 kW without a break since
25 August, a tariff (0.30/kWh, Wednesdays 13:00-15:00 at 0.20, 0.50 a day, 5 % tax), a budget
of 200 and a saved alternative, "Night saver" (0.35/kWh, 00:00-07:00 at 0.10, 0.40 a day, 5 %).

Expected money is worked out here hour by hour in plain Python from those rules (``hand_bill``),
apart from the read layer; the demo's from the raw-readings oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from energy_core.accounts import get_user_by_email
from energy_core.chat.wording import money
from energy_core.db import session_scope
from energy_core.demo import demo_budget
from energy_core.tariff_alternatives import save_alternative
from energy_core.tariffs import set_budget, set_tariff
from tests.chat.conftest import NOW, SEED_DAYS, chat_settings
from tests.chat.golden_cases import THIS_MONTH, TODAY, YESTERDAY, Case
from tests.factories import add_readings, make_device, make_user

LONDON = ZoneInfo("Europe/London")
SAVER_EMAIL = "saver@example.com"
BOILER_FROM = datetime(2026, 8, 25, tzinfo=UTC)
BOILER_W = 1000.0
SAVER_TARIFF = {
    "currency": "GBP",
    "valid_from": "2026-01-01",
    "standing_charge_per_day": 0.50,
    "tax_percent": 5,
    "billing_day": 1,
    "import": {
        "default": 0.30,
        "periods": [{"days": "wed", "from": "13:00", "to": "15:00", "price": 0.20}],
    },
}
NIGHT_SAVER = {
    "currency": "GBP",
    "valid_from": "2026-06-01",
    "standing_charge_per_day": 0.40,
    "tax_percent": 5,
    "import": {
        "default": 0.35,
        "periods": [{"days": "all", "from": "00:00", "to": "07:00", "price": 0.10}],
    },
}
BUDGET = 200.0


def seed_saver(engine: Engine) -> int:
    from energy_core.rollup import rollup_dirty_hours

    with session_scope(engine) as session:
        existing = get_user_by_email(session, email=SAVER_EMAIL)
        if existing is not None:
            return existing.id
        user = make_user(session, email=SAVER_EMAIL, timezone="Europe/London", price_per_kwh=0.25)
        boiler = make_device(
            session,
            user=user,
            device_id="saver-boiler",
            name="Boiler",
            type="boiler",
            location="Utility",
            max_gap_s=1200,
        )
        steps = int((NOW - BOILER_FROM).total_seconds() // 600)
        points = [(BOILER_FROM + timedelta(minutes=10 * i), BOILER_W) for i in range(steps + 1)]
        add_readings(session, user=user, device=boiler, points=points)
        set_tariff(session, user_id=user.id, document=SAVER_TARIFF)
        set_budget(session, user_id=user.id, amount=BUDGET)
        save_alternative(session, user_id=user.id, name="Night saver", document=NIGHT_SAVER)
        user_id = user.id
    rollup_dirty_hours(engine, settings=chat_settings())
    return user_id


# --- the rules by hand -------------------------------------------------------------------------


def _saver_price(local: datetime) -> float:
    return 0.20 if local.weekday() == 2 and 13 <= local.hour < 15 else 0.30


def _night_price(local: datetime) -> float:
    return 0.10 if local.hour < 7 else 0.35


TARIFFS: dict[str, tuple[Callable[[datetime], float], float, float]] = {
    "saver": (_saver_price, 0.50, 5.0),
    "night": (_night_price, 0.40, 5.0),
}


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)


@cache  # the same bills are asked for by many questions, a minute at a time
def hand_bill(tariff: str, first: date, last: date) -> float:
    """The bill of local days ``first``..``last`` (as far as now): every minute the boiler ran
    at the price of that local minute, the standing charge of every day begun, tax on both."""
    price, standing, tax = TARIFFS[tariff]
    energy = 0.0
    day_count = 0
    day = first
    while day <= last:
        lo, hi = _midnight(day), min(_midnight(day + timedelta(days=1)), NOW)
        if lo >= NOW:
            break
        day_count += 1
        minute = max(lo, BOILER_FROM)
        while minute < hi:
            energy += BOILER_W / 1000 / 60 * price(minute.astimezone(LONDON))
            minute += timedelta(minutes=1)
        day = day + timedelta(days=1)
    return (energy + standing * day_count) * (1 + tax / 100)


@cache
def hand_energy_cost(first: date, last: date) -> float:
    price, _, _ = TARIFFS["saver"]
    lo, hi = max(_midnight(first), BOILER_FROM), min(_midnight(last + timedelta(days=1)), NOW)
    total, minute = 0.0, lo
    while minute < hi:
        total += BOILER_W / 1000 / 60 * price(minute.astimezone(LONDON))
        minute += timedelta(minutes=1)
    return total


DEC_1, DEC_31, NOV_1, NOV_30 = (
    date(2026, 12, 1),
    date(2026, 12, 31),
    date(2026, 11, 1),
    date(2026, 11, 30),
)


def saver_projection() -> float:
    """The period's bill projected: 1 December's energy cost (the one whole day so far) for each
    of the 31 days, 31 standing charges, tax."""
    return (hand_energy_cost(DEC_1, DEC_1) * 31 + 0.50 * 31) * 1.05


def saving(months: int) -> tuple[float, float]:
    first = {3: date(2026, 9, 2), 2: date(2026, 10, 2)}[months]
    last = date(2026, 12, 1)
    return hand_bill("saver", first, last), hand_bill("night", first, last)


# --- the cases ---------------------------------------------------------------------------------


def saver_bill(question: str) -> Case:
    return Case(
        "bill",
        question,
        "bill",
        lambda o: {
            "current.total": hand_bill("saver", DEC_1, DEC_31),
            "current.standing_charge": 2 * 0.50,
            "projected_total": saver_projection(),
            "last.total": hand_bill("saver", NOV_1, NOV_30),
            "budget_verdict": "on course to exceed the budget",
        },
        lambda o: [
            money(hand_bill("saver", DEC_1, DEC_31), "GBP"),
            money(saver_projection(), "GBP"),
            "standing charge",
            "Method: the average energy cost per day",
        ],
        household="saver",
    )


def budget(question: str) -> Case:
    return Case(
        "budget",
        question,
        "bill",
        lambda o: {
            "budget": BUDGET,
            "budget_used": hand_bill("saver", DEC_1, DEC_31) / BUDGET,
            "projected_total": saver_projection(),
        },
        lambda o: [
            "No: at this rate you will go over it",
            money(BUDGET, "GBP"),
            money(saver_projection(), "GBP"),
        ],
        household="saver",
    )


def demo_budget_case(question: str) -> Case:
    """The demo's budget (set by its seed, below its usual bill) against its bill: the cost so
    far, and 1 December's cost for each of December's 31 days."""
    budget = demo_budget(now=NOW, days=SEED_DAYS)

    def verdict(o) -> str:  # noqa: ANN001
        if o.cost(THIS_MONTH, NOW) > budget:
            return "over budget"
        if o.cost(YESTERDAY, TODAY) * 31 > budget:
            return "on course to exceed the budget"
        return "within budget"

    return Case(
        "budget",
        question,
        "bill",
        lambda o: {
            "budget": budget,
            "budget_used": o.cost(THIS_MONTH, NOW) / budget,
            "projected_total": o.cost(YESTERDAY, TODAY) * 31,
            "budget_verdict": verdict(o),
        },
        lambda o: [f"**{verdict(o)}**", money(budget, "GBP")],
    )


def what_if(question: str, months: int = 3) -> Case:
    def expect(o) -> dict:  # noqa: ANN001
        mine, theirs = saving(months)
        return {
            "yours.total": mine,
            "alternative.total": theirs,
            "alternative.name": "Night saver",
            "saving": mine - theirs,
        }

    return Case(
        "what if",
        question,
        "compare_tariffs",
        expect,
        lambda o: [
            f"would have **saved you {money(saving(months)[0] - saving(months)[1], 'GBP')}**",
            "standing charge",
        ],
        household="saver",
    )


MONEY_CASES: list[Case] = [
    # --- this billing period's bill, so far and projected ---
    saver_bill("What will my bill be this month?"),
    saver_bill("How big is this month's electricity bill going to get?"),
    saver_bill("What's my bill so far?"),
    saver_bill("how much is my current bill"),
    saver_bill("projected bill for this billing period"),
    saver_bill("What wil my electricity bill come to?"),
    # --- the budget ---
    budget("Am I on track for my budget?"),
    budget("Will I stay within budget this month?"),
    budget("how am i doing against my budget"),
    budget("Is my spending on course for the monthly budget?"),
    demo_budget_case("Am I on track for my budget?"),
    demo_budget_case("will I go over budget?"),
    Case(
        "budget",
        "Am I on track for my budget?",
        "bill",
        lambda o: {"budget": None, "budget_verdict": None},
        lambda o: ["You have not set a budget", "tariffs budget"],
        household="neighbour",
    ),
    # --- what if: a saved alternative tariff over the last months ---
    what_if("What would the Night saver tariff have saved me over the last 3 months?"),
    what_if("Would I have paid less on night saver?"),
    what_if("how much could I have saved by switching to the time-of-use tariff"),
    what_if("Which tariff is cheaper for me?"),
    what_if("what would night saver have saved over the past two months", months=2),
    Case(
        "what if",
        "What would Octopus Agile have saved me?",
        None,
        says=lambda o: ["no saved tariff called 'octopus agile'", "tariffs alternative"],
        never_says=["Night saver would have"],
        understood=False,
        household="saver",
    ),
    Case(
        "what if",
        "What would night saver have saved me in November?",
        None,
        says=lambda o: ["whole months back"],
        understood=False,
        household="saver",
    ),
    Case(
        "what if",
        "What would the time-of-use tariff have saved me over the last 3 months?",
        None,
        says=lambda o: ["no other tariff saved", "tariffs alternative"],
    ),
    Case(
        "what if",
        "could a different tariff have saved me money?",
        None,
        says=lambda o: ["no other tariff saved", "Tariffs page"],
    ),
    # --- the cost metric under a time-of-use tariff (no standing charge: not a bill) ---
    Case(
        "cost",
        "How much did I spend last month?",
        "cost",
        lambda o: {"cost": hand_energy_cost(NOV_1, NOV_30)},
        lambda o: [money(hand_energy_cost(NOV_1, NOV_30), "GBP"), "Cost is what the grid import"],
        household="saver",
    ),
    Case(
        "cost",
        "what did the boiler cost me yesterday",
        "cost",
        lambda o: {"cost": hand_energy_cost(DEC_1, DEC_1)},
        lambda o: [money(hand_energy_cost(DEC_1, DEC_1), "GBP")],
        household="saver",
    ),
    # --- the standing charge and the cheapest hours ---
    Case(
        "tariff",
        "What is my standing charge?",
        "tariff_day",
        lambda o: {"standing_charge_per_day": 0.50, "tax_percent": 5.0},
        lambda o: ["Your standing charge is **£0.50 a day**", "5% tax"],
        household="saver",
    ),
    Case(
        "tariff",
        "how much is the daily standing charge",
        "tariff_day",
        lambda o: {"standing_charge_per_day": 0.50},
        lambda o: ["£0.50 a day"],
        household="saver",
    ),
    Case(
        "tariff",
        "What's my standing charge?",
        "tariff_day",
        lambda o: {"standing_charge_per_day": 0.0},
        lambda o: ["no standing charge"],
    ),
    Case(
        "tariff",
        "When is the cheapest time to run the dishwasher?",
        "tariff_day",
        lambda o: {"cheapest_price": 0.20, "same_price_all_day": False},
        lambda o: ["**13:00-15:00**", "£0.20/kWh"],
        household="saver",
    ),
    Case(
        "tariff",
        "what's the best time to run the washing machine",
        "tariff_day",
        lambda o: {"same_price_all_day": True, "cheapest_price": o.raw.price},
        lambda o: ["the same in every hour", "no time is cheaper"],
    ),
    Case(
        "tariff",
        "which is the cheapest hour to run the dishwasher",
        "tariff_day",
        lambda o: {"cheapest_price": 0.20, "same_price_all_day": False},
        lambda o: ["**13:00-15:00**", "£0.20/kWh"],
        household="saver",
    ),
    Case(
        "tariff",
        "when should I run the tumble dryer to pay least?",
        "tariff_day",
        lambda o: {"cheapest_hours": ["2026-12-02T13:00:00+00:00", "2026-12-02T14:00:00+00:00"]},
        household="saver",
    ),
]

__all__ = [
    "MONEY_CASES",
    "BUDGET",
    "DEC_1",
    "DEC_31",
    "NOV_1",
    "NOV_30",
    "SAVER_EMAIL",
    "hand_bill",
    "money",
    "saver_projection",
    "saving",
    "seed_saver",
]

"""Golden cases of questions the analyst used to get wrong: the household's highest and lowest
power at one instant, the average monthly bill, what solar saved in two months side by side,
"which used more, X or Y, and why", the price tomorrow or at an hour, when a device was offline,
whether a device works as it usually does, and totals of weekdays or weekends only.

A fourth household, the worried one, has a fridge that cycles a quarter of every hour for weeks,
then three quarters of every hour from 29 November (a door left ajar), and sent nothing on the
afternoon of 25 November. Expected figures come from the golden oracle (raw readings), apart
from the read layer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from energy_core.accounts import get_user_by_email
from energy_core.chat.wording import kwh, money, watts
from energy_core.db import session_scope
from tests.chat.conftest import NOW, chat_settings
from tests.chat.golden_cases import (
    EV,
    FRIDGE,
    HEAT,
    LAST_MONTH,
    LAST_WEEK,
    LIGHTS,
    MONDAY,
    NIGHT,
    ROLLING_7D,
    ROLLING_30D,
    ROUTER,
    THIS_MONTH,
    THIS_WEEK,
    TODAY,
    WASHER,
    YESTERDAY,
    Case,
    compare,
    day,
    energy,
    explain,
    no_readings,
    power_now,
    profile,
    rank,
    refused,
    versus,
    weekday_weekend,
)
from tests.chat.golden_money import hand_bill
from tests.chat.golden_oracle import CONSUMERS, Oracle
from tests.factories import add_readings, make_device, make_user

WORRIED_EMAIL = "worried@example.com"
WORRIED_FROM = datetime(2026, 10, 20, tzinfo=UTC)
AJAR_FROM = datetime(2026, 11, 29, tzinfo=UTC)  # London is on UTC in November
SILENT = (datetime(2026, 11, 25, 13, 0, tzinfo=UTC), datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
WORRIED_FRIDGE = ("worried-fridge",)
STANDBY_W = 5.0


def _fridge_w(moment: datetime) -> float:
    """100 W for the first quarter of each hour (three quarters once the door is ajar), 2 W else."""
    running = 45 if moment >= AJAR_FROM else 15
    return 100.0 if moment.minute < running else 2.0


def seed_worried(engine: Engine) -> int:
    from energy_core.rollup import rollup_dirty_hours

    with session_scope(engine) as session:
        existing = get_user_by_email(session, email=WORRIED_EMAIL)
        if existing is not None:
            return existing.id
        user = make_user(session, email=WORRIED_EMAIL, timezone="Europe/London")
        fridge = make_device(
            session,
            user=user,
            device_id="worried-fridge",
            name="Fridge",
            type="fridge",
            location="Kitchen",
        )
        steps = int((NOW - WORRIED_FROM).total_seconds() // 300)
        moments = [WORRIED_FROM + timedelta(minutes=5 * i) for i in range(steps)]
        points = [(m, _fridge_w(m)) for m in moments if not SILENT[0] <= m < SILENT[1]]
        add_readings(session, user=user, device=fridge, points=points)
        user_id = user.id
    rollup_dirty_hours(engine, settings=chat_settings())
    return user_id


# --- the cases ---------------------------------------------------------------------------------


def together(question, start, end, lowest=False, hours=None) -> Case:  # noqa: ANN001
    """The consumers' power added up at one instant: its highest (or lowest) and when."""
    key = "together_min" if lowest else "together_max"

    def value(o: Oracle) -> tuple[float, str]:
        return o.together(start, end, CONSUMERS, hours and frozenset(hours))[int(lowest)]

    return Case(
        "instant power",
        question,
        "power_stats",
        lambda o: {f"{key}_w": value(o)[0], f"{key}_at": value(o)[1]},
        lambda o: [watts(value(o)[0]), "adding up the readings"],
    )


def device_lowest(question, start, end, device) -> Case:  # noqa: ANN001
    return Case(
        "instant power",
        question,
        "power_stats",
        lambda o: {"per_device.0.min_w": o.lowest(start, end, device)},
        lambda o: [f"lowest reading was **{watts(o.lowest(start, end, device))}**"],
    )


def only_days(question, start, end, weekdays, devices=None, cost=False) -> Case:  # noqa: ANN001
    """A total over the days of [start, end) that fall on ``weekdays`` only."""

    def days() -> list[tuple[datetime, datetime]]:
        out, cursor = [], start
        while cursor < end:
            following = day(cursor.month, cursor.day) + timedelta(days=1)
            following = day(following.month, following.day) if following.year == 2026 else end
            if cursor.weekday() in weekdays:
                out.append((cursor, min(following, end)))
            cursor = following
        return out

    def figure(o: Oracle) -> float:
        if cost:
            return sum(o.cost(lo, hi, devices) for lo, hi in days())
        return sum(o.energy(lo, hi, devices) for lo, hi in days())

    side = "weekdays" if weekdays == WEEKDAYS else "weekends"
    return Case(
        "days of the week",
        question,
        "cost" if cost else "energy_usage",
        lambda o: {"cost" if cost else "consumption_wh": figure(o)},
        lambda o: [money(figure(o), "GBP") if cost else kwh(figure(o)), f"{side} only"],
    )


def why_more(question, a, b, start, end) -> Case:  # noqa: ANN001
    """Both figures, then why: how long each ran above standby."""

    def hours(o: Oracle, devices) -> float:  # noqa: ANN001
        runs = o.runs(start, end, devices, STANDBY_W)
        return sum((hi - lo).total_seconds() for lo, hi, _ in runs) / 3600

    both = versus(question, a, b, start, end)
    return replace(
        both,
        says=lambda o: [
            *both.says(o),
            "**Why**",
            *(f"for {hours(o, d):,.1f} h" if hours(o, d) else "did not run" for d in (a, b)),
        ],
    )


def saved_in(o: Oracle, start: datetime, end: datetime) -> float:
    return o.self_consumption(start, end) * o.raw.price / 1000


def duty(o: Oracle, start: datetime, end: datetime) -> float:
    runs = o.runs(start, end, WORRIED_FRIDGE, STANDBY_W)
    covered = o.coverage(start, end, WORRIED_FRIDGE) * (end - start).total_seconds()
    return sum((hi - lo).total_seconds() for lo, hi, _ in runs) / covered


def health(question, start, end, unusual: bool, household="worried") -> Case:  # noqa: ANN001
    usual = (start - timedelta(days=28), start)
    devices = WORRIED_FRIDGE if household == "worried" else FRIDGE

    def expect(o: Oracle) -> dict[str, Any]:
        if household != "worried":
            return {"0:coverage": o.coverage(start, end, devices)}
        return {"0:share_of_covered": duty(o, start, end), "1:share_of_covered": duty(o, *usual)}

    return Case(
        "device health",
        question,
        "power_runs",
        expect,
        lambda o: ["**(unusual)**", "behaved differently"] if unusual else ["looks normal"],
        never_says=[] if unusual else ["(unusual)"],
        household=household,
    )


def offline(question, start, end, household="worried") -> Case:  # noqa: ANN001
    device = WORRIED_FRIDGE[0] if household == "worried" else ROUTER[0]

    def expect(o: Oracle) -> dict[str, Any]:
        gaps = o.gaps(device, start, end)
        out: dict[str, Any] = {"per_device.0.gap_count": len(gaps)}
        if gaps:
            out["per_device.0.gaps.0.start"], out["per_device.0.gaps.0.end"] = gaps[0]
        return out

    def says(o: Oracle) -> list[str]:
        gaps = o.gaps(device, start, end)
        if not gaps:
            return ["no gap"]
        lo, hi = (datetime.fromisoformat(g) for g in gaps[0])
        return [f"{lo:%a %-d %b %H:%M} - {hi:%a %-d %b %H:%M}"]

    return Case("offline", question, "data_coverage", expect, says, household=household)


def price(question, day_iso, hour_price, household="saver", says=()) -> Case:  # noqa: ANN001
    return Case(
        "tariff",
        question,
        "tariff_day",
        lambda o: {"day": day_iso},
        lambda o: [f"**£{hour_price:.2f}/kWh**", *says],
        household=household,
    )


WEEKDAYS, WEEKENDS = frozenset(range(5)), frozenset({5, 6})
OCTOBER = (day(10, 1), LAST_MONTH)
LAST_NIGHT = (YESTERDAY + timedelta(hours=22), TODAY + timedelta(hours=6))
LAST_3_DAYS = (day(11, 29), NOW)  # the door ajar

KNOWN_CASES: list[Case] = [
    # --- the household's highest and lowest power at one instant ---
    together("what was my peak power yesterday", YESTERDAY, TODAY),
    together("highest power the house drew last week", LAST_WEEK, THIS_WEEK),
    together("lowest power overnight", *ROLLING_7D, lowest=True, hours=NIGHT),
    together("what was the house's minimum power last night", *LAST_NIGHT, lowest=True),
    together("peak demand this week", THIS_WEEK, NOW),
    device_lowest("what's the lowest the heat pump went yesterday", YESTERDAY, TODAY, "heat-pump"),
    device_lowest("lowest power of the fridge last week", LAST_WEEK, THIS_WEEK, "fridge-kitchen"),
    # --- the average monthly bill: the whole billing periods before this one ---
    Case(
        "bill",
        "what's my average monthly bill",
        "bill",
        lambda o: {"average_total": o.cost(LAST_MONTH, THIS_MONTH), "whole_periods": 1},
        lambda o: [money(o.cost(LAST_MONTH, THIS_MONTH), "GBP"), "left out of the average"],
    ),
    Case(
        "bill",
        "how much do I usually pay a month",
        "bill",
        lambda o: {
            "average_total": sum(
                hand_bill("saver", day(m, 1).date(), (day(m + 1, 1) - timedelta(days=1)).date())
                for m in (9, 10, 11)
            )
            / 3,
            "whole_periods": 3,
        },
        household="saver",
    ),
    # --- what solar saved, two months side by side ---
    Case(
        "solar savings",
        "how much did solar save me in November compared with October",
        "cost",
        lambda o: {
            "0:generation_saving": saved_in(o, LAST_MONTH, THIS_MONTH),
            "1:generation_saving": saved_in(o, *OCTOBER),
        },
        lambda o: [
            money(saved_in(o, LAST_MONTH, THIS_MONTH), "GBP"),
            money(saved_in(o, *OCTOBER), "GBP"),
            "Readings start on Fri 23 Oct 2026",
        ],
    ),
    Case(
        "solar savings",
        "how much did I save from the panels last month versus the month before",
        "cost",
        lambda o: {
            "0:generation_saving": saved_in(o, LAST_MONTH, THIS_MONTH),
            "1:generation_saving": saved_in(o, *OCTOBER),
        },
    ),
    # --- which used more, and why ---
    why_more(
        "which used more, the heat pump or the EV charger last week, and why",
        HEAT,
        EV,
        LAST_WEEK,
        THIS_WEEK,
    ),
    why_more("which used more, the fridge or the router, and why?", FRIDGE, ROUTER, *ROLLING_7D),
    why_more(
        "why did the heat pump use more than the washing machine yesterday",
        HEAT,
        WASHER,
        YESTERDAY,
        TODAY,
    ),
    # --- the price tomorrow, or at an hour ---
    price("what's the price tomorrow at 7pm", "2026-12-03", 0.30, says=["At 19:00 tomorrow"]),
    price("what is tomorrow's tariff", "2026-12-03", 0.28, household="demo"),
    price("what's the rate at 2pm today", "2026-12-02", 0.20, says=["At 14:00 today"]),
    price("how much is electricity tomorrow at 19:00", "2026-12-03", 0.28, household="demo"),
    price("what are today's prices", "2026-12-02", 0.20, says=["13:00-15:00"]),
    # --- when a device was offline ---
    offline("when was the fridge offline last week", LAST_WEEK, THIS_WEEK),
    offline("did the fridge drop out at any point in november", LAST_MONTH, THIS_MONTH),
    offline("was the router offline at any point?", *ROLLING_7D, household="demo"),
    offline("has the fridge been offline this month", THIS_MONTH, NOW),
    offline("any outages of the fridge in the last 30 days", day(11, 3), NOW),
    # --- whether a device works as it usually does ---
    health("is the fridge working properly", *ROLLING_7D, unusual=True),
    health("was the fridge ok yesterday?", YESTERDAY, TODAY, unusual=True),
    health("is the fridge behaving normally", *ROLLING_7D, unusual=False, household="demo"),
    health("is something wrong with the fridge", *ROLLING_7D, unusual=False, household="demo"),
    # Last week holds the first day of the door ajar (29 November); the 20th was before it.
    health("was the fridge working properly last week", LAST_WEEK, THIS_WEEK, unusual=True),
    health("was the fridge working properly on 20 november", day(11, 20), day(11, 21), False),
    # --- totals of weekdays or weekends only ---
    only_days("how much did I use on weekdays last week", LAST_WEEK, THIS_WEEK, WEEKDAYS),
    only_days("how much did I use at weekends in November", LAST_MONTH, THIS_MONTH, WEEKENDS),
    only_days("weekday only usage last month", LAST_MONTH, THIS_MONTH, WEEKDAYS),
    only_days(
        "what did the heat pump cost on weekdays last week",
        LAST_WEEK,
        THIS_WEEK,
        WEEKDAYS,
        HEAT,
        cost=True,
    ),
    only_days("ev charging at the weekend only, last month", LAST_MONTH, THIS_MONTH, WEEKENDS, EV),
    Case(
        "days of the week",
        "what did the heat pump cost on weekends this month",
        "cost",
        says=lambda o: ["There is no weekend day in this month"],
        never_says=["£0.00"],
    ),
]


# --- found by a probe of new wordings (golden cases of the fixes) --------------------------------


def _running_hour(o: Oracle, devices) -> float:  # noqa: ANN001
    """What an hour of running costs: the runs' energy over their hours, at the flat price."""
    runs = o.runs(*ROLLING_7D, devices, STANDBY_W, False, 900.0)
    hours = sum((hi - lo).total_seconds() for lo, hi, _ in runs) / 3600
    return sum(wh for _, _, wh in runs) / hours * o.raw.price / 1000


def which_night(question, first_day, count, devices=None, least=False, cost=False) -> Case:  # noqa: ANN001
    """The night (22:00-06:00) of the most or least use among ``count`` nights from the one
    beginning on ``first_day``; each night's figure is one call, in order."""
    nights = [
        (first_day + timedelta(days=i, hours=22), first_day + timedelta(days=i + 1, hours=6))
        for i in range(count)
    ]

    def figure(o: Oracle, night) -> float:  # noqa: ANN001
        return o.cost(*night, devices) if cost else o.energy(*night, devices)

    def expect(o: Oracle) -> dict[str, Any]:
        key = "cost" if cost else "consumption_wh"
        return {f"{i}:{key}": figure(o, night) for i, night in enumerate(nights)}

    def says(o: Oracle) -> list[str]:
        lo, hi = (min if least else max)(nights, key=lambda n: figure(o, n))
        said = money(figure(o, (lo, hi)), "GBP") if cost else kwh(figure(o, (lo, hi)))
        return [f"**the night of {lo:%a %-d %b} to {hi:%a %-d %b} (22:00-06:00)**: **{said}**"]

    return Case("extreme", question, "cost" if cost else "energy_usage", expect, says)


def _sunniest(o: Oracle) -> dict[str, Any]:
    """The day of November with the most generation, and the household's export that day."""
    days = [(day(11, d), day(11, d + 1) if d < 30 else THIS_MONTH) for d in range(1, 31)]
    lo, hi = max(days, key=lambda d: o.generation(*d))
    return {
        "highest_generation.start": lo.isoformat(timespec="seconds"),
        "highest_generation.generation_wh": o.generation(lo, hi),
        "highest_generation.export_wh": o.export(lo, hi),
    }


def per_hour(question: str, devices) -> Case:  # noqa: ANN001
    """What a device costs in an average hour of the last 7 days."""

    def said(o: Oracle) -> str:
        hours = (NOW - ROLLING_7D[0]).total_seconds() / 3600
        return money(o.cost(*ROLLING_7D, devices) / hours, "GBP")

    return Case(
        "cost",
        question,
        "cost",
        lambda o: {"cost": o.cost(*ROLLING_7D, devices)},
        lambda o: [f"**{said(o)} an hour**"],
    )


PROBED_CASES: list[Case] = [
    rank("what is the least used device", *ROLLING_7D, order="least", top=5),
    rank("which is the most used appliance last week", LAST_WEEK, THIS_WEEK, top=5),
    profile("when are the lights usually on", LIGHTS),
    weekday_weekend("what's my weekday usage pattern"),
    power_now("when did the router last send data", "router-hall"),
    power_now("what's the living room using right now", "lights-living"),
    compare("is my usage going up or down", ROLLING_7D, (day(11, 19), day(11, 26))),
    compare("has my usage gone up this week", (THIS_WEEK, NOW), (LAST_WEEK, THIS_WEEK)),
    Case(
        "comparison",
        "are my bills going up",
        "compare_periods",
        lambda o: {
            "first.cost": o.cost(*ROLLING_7D),
            "second.cost": o.cost(day(11, 19), day(11, 26)),
        },
        lambda o: [money(o.cost(*ROLLING_7D), "GBP"), "more spent a day"],
    ),
    compare("is the heat pump using more lately", ROLLING_7D, (day(11, 19), day(11, 26)), HEAT),
    energy("dates", "what was usage in the week before last", day(11, 16), LAST_WEEK),
    energy("dates", "how much did i use in q4", day(10, 1), NOW),
    energy("dates", "fourth quarter usage of the heat pump", day(10, 1), NOW, HEAT),
    no_readings("dates", "how much did I use last quarter", "no readings"),
    energy("device", "how much did teh washing machine use this mnth", THIS_MONTH, NOW, WASHER),
    energy("device", "how much did the hp use yesterday", YESTERDAY, TODAY, HEAT),
    energy("device", "how much did the tesla use last week", LAST_WEEK, THIS_WEEK, EV),
    explain("why was yesterday higher than normal", YESTERDAY, TODAY),
    refused("out of scope", "what was my power factor yesterday"),
    refused("out of scope", "what's the voltage of my house"),
    Case(
        "offline",
        "were there any outages last week",
        "data_coverage",
        lambda o: {"per_device.0.gap_count": 0, "per_device.5.gap_count": 0},
        lambda o: ["No device had a gap"],
    ),
    Case("status", "how many readings do I have", "data_coverage"),
    energy("dates", "electricity use on bonfire night", day(11, 5), day(11, 6)),
    energy("dates", "how much on halloween", day(10, 31), LAST_MONTH),
    energy("dates", "usage for the 3 days before yesterday", day(11, 28), YESTERDAY),
    energy("dates", "the 2 days before today, heat pump", day(11, 30), TODAY, HEAT),
    Case(
        "profile",
        "what's my typical daily usage",
        "hourly_profile",
        lambda o: {"typical_day_wh": sum(o.hour_means(*ROLLING_30D).values())},
        lambda o: [f"A typical day is **{kwh(sum(o.hour_means(*ROLLING_30D).values()))}**"],
    ),
    Case(
        "device health",
        "is my solar working properly",
        "power_runs",
        says=lambda o: ["shorter or duller days"],
        never_says=["change in how it is used"],
    ),
    Case(
        "extreme",
        "which month was the cheapest",
        "cost",
        lambda o: {
            "lowest.start": LAST_MONTH.isoformat(),
            "lowest.cost": o.cost(LAST_MONTH, THIS_MONTH),
        },
        lambda o: ["I compared whole months only"],
    ),
    Case(
        "extreme",
        "what was my cheapest day this month",
        "cost",
        lambda o: {"lowest.start": YESTERDAY.isoformat(), "lowest.cost": o.cost(YESTERDAY, TODAY)},
    ),
    Case(
        "extreme",
        "what was the cheapest week in november",
        "cost",
        lambda o: {
            "lowest.start": day(11, 16).isoformat(),
            "lowest.cost": o.cost(day(11, 16), LAST_WEEK),
        },
    ),
    Case(
        "inventory",
        "what devices are in the kitchen",
        "list_devices",
        says=lambda o: ["In the Kitchen: **Kitchen fridge**"],
        never_says=["Heat pump"],
    ),
    Case(
        "inventory",
        "what's in the garden",
        "list_devices",
        says=lambda o: ["In the Garden: **Heat pump**"],
        never_says=["Kitchen fridge"],
    ),
    Case(
        "cost",
        "what does the ev cost an hour to charge",
        "cost",
        lambda o: {"cost": o.cost(*ROLLING_7D, EV)},
        lambda o: [f"While it runs it costs **{money(_running_hour(o, EV), 'GBP')} an hour**"],
    ),
    which_night("which night last week did I use the most", LAST_WEEK, 7),
    which_night("what was my cheapest night this week", THIS_WEEK, 2, least=True, cost=True),
    which_night("which night did the heat pump use the least", ROLLING_7D[0], 6, HEAT, least=True),
    energy(
        "dates",
        "how much power did the car charger use overnight on monday",
        MONDAY[0] + timedelta(hours=22),
        YESTERDAY + timedelta(hours=6),
        EV,
    ),
    energy(
        "dates",
        "heat pump usage sunday overnight",
        day(11, 29) + timedelta(hours=22),
        MONDAY[0] + timedelta(hours=6),
        HEAT,
    ),
    explain("how much did I use yesterday compared to my average day", YESTERDAY, TODAY),
    Case(
        "power",
        "what's the most power the washing machine has ever drawn",
        "power_stats",
        lambda o: {"per_device.0.max_w": o.peak(day(10, 1), NOW, "washer-utility")[0]},
    ),
    Case(
        "cost",
        "how much would I save if I didn't charge the car",
        "cost",
        lambda o: {"cost": o.cost(*ROLLING_7D, EV)},
        lambda o: ["Switching it off then would save", "a year"],
    ),
    Case(
        "comparison",
        "how much energy did the heat pump use compared to last winter",
        "compare_periods",
        lambda o: {
            "first.consumption_wh": o.energy(THIS_MONTH, NOW, HEAT),
            "second.consumption_wh": None,
        },
        lambda o: ["this winter", "no readings last winter"],
    ),
    Case(
        "days of the week",
        "what did wednesday afternoons cost me last month",
        "cost",
        # 4 Wednesdays x (2 h at 0.20 + 4 h at 0.30) of a 1 kW boiler, no tax in a cost
        lambda o: {"cost": 4 * (2 * 0.20 + 4 * 0.30)},
        lambda o: ["Wednesdays only", "afternoon hours only"],
        household="saver",
    ),
    Case(
        "days of the week",
        "how much did the heat pump use on mondays in november",
        "energy_usage",
        lambda o: {
            "consumption_wh": sum(
                o.energy(day(11, d), day(11, d + 1), HEAT) for d in (2, 9, 16, 23)
            )
            + o.energy(MONDAY[0], MONDAY[1], HEAT)
        },
        lambda o: ["Mondays only"],
    ),
    Case(
        "bill",
        "how much did I pay in tax this month",
        "bill",
        lambda o: {"current.standing_charge": 2 * 0.50},
        lambda o: ["tax £"],
        household="saver",
    ),
    energy("device", "hw much energy did the ev chrger use yestrday", YESTERDAY, TODAY, EV),
    compare("how much did I use this time last week", (TODAY, NOW), (day(11, 25), day(11, 26))),
    Case(
        "solar",
        "what was the sunniest day last month",
        "energy_usage",
        lambda o: _sunniest(o),
        lambda o: [f"{kwh(_sunniest(o)['highest_generation.export_wh'])} of it exported"],
    ),
    per_hour("how much does the heat pump cost per hour", HEAT),
    per_hour("how much does it cost to run the heat pump for an hour", HEAT),
]

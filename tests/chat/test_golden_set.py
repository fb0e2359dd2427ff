"""The golden set: questions in many phrasings about the seeded demo household, each checked
against figures computed apart from the read layer, straight from the raw readings
(tests/oracle.py), over ranges written out by hand.

An answer is correct when the analyst called the expected tool and the numbers in its result match
the independent figures; the set as a whole must score at least 90 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy
import pytest

from energy_core.chat.answers import ChatAnswer
from energy_core.chat.offline import OfflineAnalyst, kwh, money
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from energy_core.demo import DEMO_DEVICES
from tests.chat.conftest import NOW, chat_settings
from tests.oracle import Oracle as RawOracle

LONDON = ZoneInfo("Europe/London")
CONSUMERS = [d.device_id for d in DEMO_DEVICES if not d.bidirectional]
SOLAR = "solar-roof"
# Each demo device stands in a room of its own, so rooms rank as their devices do.
ROOMS = {d.device_id: d.location for d in DEMO_DEVICES}
NIGHT = set(range(22, 24)) | set(range(0, 6))
EVENING = set(range(18, 22))
MISSING = object()


def day(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, tzinfo=LONDON)


def days(start: datetime, count: int) -> datetime:
    return (start.replace(tzinfo=None) + timedelta(days=count)).replace(tzinfo=LONDON)


TODAY = day(4, 8)
YESTERDAY = day(4, 7)
THIS_WEEK = day(4, 6)
LAST_WEEK = day(3, 30)
THIS_MONTH = day(4, 1)
LAST_MONTH = day(3, 1)


class Oracle:
    """Expected figures, from the raw readings (tests/oracle.py), apart from the read layer."""

    def __init__(self, raw: RawOracle):
        self.raw = raw

    def energy(self, start, end, devices=None, hours=None) -> float | None:  # noqa: ANN001
        return self.raw.household(start, end, devices, hours=hours).consumption

    def cost(self, start, end, devices=None) -> float:  # noqa: ANN001
        return self.raw.cost(self.raw.household(start, end, devices))

    def generation(self, start, end) -> float:  # noqa: ANN001
        return self.raw.household(start, end, [SOLAR]).generated

    def per_device(self, start, end, hours=None) -> dict[str, float]:  # noqa: ANN001
        return {d: self.energy(start, end, [d], hours) for d in CONSUMERS}

    def coverage(self, start, end, devices=None) -> float | None:  # noqa: ANN001
        return self.raw.household(start, end, devices).coverage

    def series(self, start, end, granularity, devices=None, *, cost=False):  # noqa: ANN001, ANN201
        return [
            (at, self.raw.cost(sums) if cost else sums.consumed)
            for at, sums in self.raw.series(start, end, granularity, devices)
            if sums.covered
        ]

    def household_avg_w(self, start, end) -> float | None:  # noqa: ANN001
        return self.raw.avg_w(
            self.raw.household(start, end), len(DEMO_DEVICES), (end - start).total_seconds()
        )

    def hourly(self, start, end, devices=None):  # noqa: ANN001, ANN201
        return self.raw.hourly_averages(start, end, devices)

    def device_point(self, start, end, device):  # noqa: ANN001, ANN201
        sums = self.raw.device(device, start, end)
        return max(sums.values), sums.consumed * 3600 / sums.covered

    def latest_power(self, device_id: str) -> float:
        return self.raw.latest_power(device_id)


@dataclass
class Case:
    question: str
    tool: str | None
    # Paths into the tool result ("ranking.0.device_id") and their expected values.
    expect: Callable[[Oracle], dict[str, Any]] = lambda o: {}
    # Text the answer must contain (computed from the expected figures).
    says: Callable[[Oracle], list[str]] = lambda o: []
    understood: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.question


def energy_case(question, start, end, devices=None, hours=None) -> Case:  # noqa: ANN001
    return Case(
        question,
        "energy_usage",
        lambda o: {"consumption_wh": o.energy(start, end, devices, hours)},
        lambda o: [kwh(o.energy(start, end, devices, hours))],
    )


def cost_case(question, start, end, devices=None) -> Case:  # noqa: ANN001
    # Cost is grid import hour by hour at the user's price; export is not credited.
    return Case(
        question,
        "cost",
        lambda o: {
            "cost": o.cost(start, end, devices),
            "consumption_wh": o.energy(start, end, devices),
        },
        lambda o: [money(o.cost(start, end, devices), "GBP")],
    )


def generation_case(question, start, end) -> Case:  # noqa: ANN001
    return Case(
        question,
        "energy_usage",
        lambda o: {"generation_wh": o.generation(start, end)},
        lambda o: [kwh(o.generation(start, end))],
    )


def extreme_case(question, tool, start, end, granularity, highest=True) -> Case:  # noqa: ANN001
    def expect(o: Oracle) -> dict[str, Any]:
        series = o.series(start, end, granularity, cost=tool == "cost")
        pick = (max if highest else min)(series, key=lambda row: row[1])
        key = "highest" if highest else "lowest"
        out = {f"{key}.start": pick[0].isoformat(timespec="seconds")}
        out[f"{key}.{'cost' if tool == 'cost' else 'consumption_wh'}"] = pick[1]
        return out

    return Case(question, tool, expect)


def rank_case(question, start, end, hours=None, order="most", top=1) -> Case:  # noqa: ANN001
    def expect(o: Oracle) -> dict[str, Any]:
        figures = o.per_device(start, end, hours)
        ranked = sorted(figures.items(), key=lambda kv: kv[1], reverse=order == "most")
        out = {}
        for i, (device_id, energy_wh) in enumerate(ranked[:top]):
            out[f"ranking.{i}.device_id"] = device_id
            out[f"ranking.{i}.consumption_wh"] = energy_wh
        if top < len(ranked):
            out[f"ranking.{top}"] = MISSING
        return out

    return Case(question, "top_devices", expect)


def compare_case(question, first, second, devices=None) -> Case:  # noqa: ANN001
    return Case(
        question,
        "compare_periods",
        lambda o: {
            "first.consumption_wh": o.energy(*first, devices),
            "second.consumption_wh": o.energy(*second, devices),
        },
        lambda o: [kwh(o.energy(*first, devices)), kwh(o.energy(*second, devices))],
    )


def power_case(question, start, end, device) -> Case:  # noqa: ANN001
    def expect(o: Oracle) -> dict[str, Any]:
        max_w, avg_w = o.device_point(start, end, device)
        return {"per_device.0.max_w": max_w, "per_device.0.avg_w": avg_w}

    return Case(question, "power_stats", expect)


def baseload_case(question) -> Case:  # noqa: ANN001
    def expect(o: Oracle) -> dict[str, Any]:
        hours = o.hourly(THIS_MONTH, TODAY)
        values = [avg for _, avg, coverage in hours if coverage >= 0.9]
        return {"baseload_w": float(numpy.percentile(values, 10)), "hours_used": len(values)}

    return Case(question, "baseload", expect)


def profile_case(question, devices=None) -> Case:  # noqa: ANN001
    def expect(o: Oracle) -> dict[str, Any]:
        by_hour: dict[int, list[float]] = {}
        for at, avg, coverage in o.hourly(days(TODAY, -29), NOW, devices):
            if coverage >= 0.5:
                by_hour.setdefault(at.hour, []).append(avg)
        means = {h: sum(v) / len(v) for h, v in by_hour.items()}
        peak = max(means, key=means.get)
        return {"peak_hours.0.hour": peak, "peak_hours.0.avg_w": means[peak]}

    return Case(question, "hourly_profile", expect)


def JANUARY(o: Oracle) -> float | None:  # noqa: N802 - reads like the other period names
    return o.energy(day(1, 1), day(2, 1))


# "The last N days" (and "the past week"): today so far and the N - 1 whole days before, as on
# every page.
LAST_3_DAYS = (days(TODAY, -2), NOW)
LAST_7_DAYS = (days(TODAY, -6), NOW)

GOLDEN: list[Case] = [
    # --- energy, household, devices and rooms ---
    energy_case("How much energy did I use yesterday?", YESTERDAY, TODAY),
    energy_case("How much electricity did we consume today?", TODAY, NOW),
    energy_case("What was my usage last week?", LAST_WEEK, THIS_WEEK),
    energy_case("How much did the fridge use last week?", LAST_WEEK, THIS_WEEK, ["fridge-kitchen"]),
    energy_case("How many kWh did the heat pump use yesterday?", YESTERDAY, TODAY, ["heat-pump"]),
    energy_case(
        "Energy used by the washing machine this month", THIS_MONTH, NOW, ["washer-utility"]
    ),
    energy_case(
        "How much did the EV charger use in March?", LAST_MONTH, THIS_MONTH, ["ev-charger"]
    ),
    energy_case(
        "how much power did the car use last weekend", day(4, 4), THIS_WEEK, ["ev-charger"]
    ),
    energy_case(
        "How much did the kitchen use the day before yesterday?",
        day(4, 6),
        YESTERDAY,
        ["fridge-kitchen"],
    ),
    energy_case("Living room consumption over the last 3 days", *LAST_3_DAYS, ["lights-living"]),
    energy_case("How much did the lights use on Monday?", day(4, 6), day(4, 7), ["lights-living"]),
    energy_case(
        "How much did the router use on 2026-03-15?", day(3, 15), day(3, 16), ["router-hall"]
    ),
    energy_case("What did the heat pump use on 15 March?", day(3, 15), day(3, 16), ["heat-pump"]),
    energy_case("How much did I use since March 30?", day(3, 30), NOW),
    energy_case("How much energy did I use from 1 March to 7 March?", day(3, 1), day(3, 8)),
    energy_case(
        "How much did the heatpump use at night last week?",
        LAST_WEEK,
        THIS_WEEK,
        ["heat-pump"],
        NIGHT,
    ),
    energy_case("How much did I use in the evening yesterday?", YESTERDAY, TODAY, None, EVENING),
    energy_case("How much did the frdge use this week?", THIS_WEEK, NOW, ["fridge-kitchen"]),
    energy_case(
        "How much did the washng machine use last month?",
        LAST_MONTH,
        THIS_MONTH,
        ["washer-utility"],
    ),
    energy_case("Energy use in the past week", *LAST_7_DAYS),
    energy_case("How much did the fridge use on Sunday?", day(4, 5), day(4, 6), ["fridge-kitchen"]),
    energy_case("How much did the heat pump use last Friday?", day(4, 3), day(4, 4), ["heat-pump"]),
    energy_case(
        "Usage of the broadband router in the last 24 hours",
        NOW - timedelta(days=1),
        NOW,
        ["router-hall"],
    ),
    energy_case("kitchen fridge 20 March", day(3, 20), day(3, 21), ["fridge-kitchen"]),
    Case(
        # No data in January in the test household (no device had sent a reading yet): the
        # figures are no data (None), and the answer must say so, not give 0 kWh.
        "How much did I use in January?",
        "energy_usage",
        lambda o: {"coverage": o.coverage(day(1, 1), day(2, 1)), "consumption_wh": JANUARY(o)},
        lambda o: [kwh(JANUARY(o))] if o.coverage(day(1, 1), day(2, 1)) else ["no readings"],
    ),
    generation_case("How much solar did I generate yesterday?", YESTERDAY, TODAY),
    generation_case("How much did the solar panels produce last week?", LAST_WEEK, THIS_WEEK),
    Case(
        "What's my average daily usage this month?",
        "energy_usage",
        lambda o: {
            "consumption_wh": o.energy(THIS_MONTH, NOW),
            "per_day_wh": o.energy(THIS_MONTH, NOW) / ((NOW - THIS_MONTH).total_seconds() / 86400),
        },
    ),
    Case(
        "Show me my daily usage last week",
        "energy_usage",
        lambda o: {
            f"series.{i}.consumption_wh": energy_wh
            for i, (_, energy_wh) in enumerate(o.series(LAST_WEEK, THIS_WEEK, "day"))
        },
    ),
    # --- costs ---
    cost_case("How much did I spend yesterday?", YESTERDAY, TODAY),
    cost_case("What did electricity cost me last month?", LAST_MONTH, THIS_MONTH),
    cost_case("How much did the heat pump cost this week?", THIS_WEEK, NOW, ["heat-pump"]),
    cost_case(
        "What's the cost of running the EV charger in March?",
        LAST_MONTH,
        THIS_MONTH,
        ["ev-charger"],
    ),
    cost_case(
        "How much money did the fridge cost last week?", LAST_WEEK, THIS_WEEK, ["fridge-kitchen"]
    ),
    cost_case("What was my bill for the last 7 days?", *LAST_7_DAYS),
    # --- the highest or lowest period ---
    extreme_case(
        "What was my most expensive day last month?", "cost", LAST_MONTH, THIS_MONTH, "day"
    ),
    extreme_case(
        "Which day last week did I use the most energy?",
        "energy_usage",
        LAST_WEEK,
        THIS_WEEK,
        "day",
    ),
    extreme_case(
        "Which day last week was the cheapest?", "cost", LAST_WEEK, THIS_WEEK, "day", highest=False
    ),
    extreme_case("What was the busiest hour yesterday?", "energy_usage", YESTERDAY, TODAY, "hour"),
    extreme_case(
        "Which week used the most in March?", "energy_usage", LAST_MONTH, THIS_MONTH, "week"
    ),
    # --- rankings ---
    rank_case("Which device uses the most power at night?", *LAST_7_DAYS, NIGHT, top=5),
    rank_case("Which device used the most energy last week?", LAST_WEEK, THIS_WEEK, top=5),
    rank_case("What are my top 3 devices this month?", THIS_MONTH, NOW, top=3),
    rank_case("Which appliance used the least yesterday?", YESTERDAY, TODAY, order="least", top=5),
    rank_case("What uses the most electricity in the evening?", *LAST_7_DAYS, EVENING, top=5),
    rank_case("biggest consumers over the last 3 days", *LAST_3_DAYS, top=5),
    Case(
        "Which room used the most energy last month?",
        "top_devices",
        lambda o: {
            "ranking.0.room": ROOMS[
                max(o.per_device(LAST_MONTH, THIS_MONTH).items(), key=lambda kv: kv[1])[0]
            ],
            "ranking.0.consumption_wh": max(o.per_device(LAST_MONTH, THIS_MONTH).values()),
        },
    ),
    # --- comparisons ---
    compare_case("Compare this month with last month", (THIS_MONTH, NOW), (LAST_MONTH, THIS_MONTH)),
    compare_case("This week vs last week", (THIS_WEEK, NOW), (LAST_WEEK, THIS_WEEK)),
    compare_case(
        "How does yesterday compare to the day before yesterday?",
        (YESTERDAY, TODAY),
        (day(4, 6), YESTERDAY),
    ),
    compare_case(
        "Compare the heat pump this week with last week",
        (THIS_WEEK, NOW),
        (LAST_WEEK, THIS_WEEK),
        ["heat-pump"],
    ),
    compare_case(
        "Did I use more yesterday than on Monday?", (YESTERDAY, TODAY), (day(4, 6), YESTERDAY)
    ),
    compare_case("Compare March with February", (LAST_MONTH, THIS_MONTH), (day(2, 1), LAST_MONTH)),
    compare_case("Compare this week to the previous one", (THIS_WEEK, NOW), (LAST_WEEK, THIS_WEEK)),
    Case(
        "Compare the fridge and the router last week",
        "energy_usage",
        lambda o: {
            "per_device.0.device_id": "fridge-kitchen",
            "per_device.0.consumption_wh": o.energy(LAST_WEEK, THIS_WEEK, ["fridge-kitchen"]),
            "per_device.1.device_id": "router-hall",
            "per_device.1.consumption_wh": o.energy(LAST_WEEK, THIS_WEEK, ["router-hall"]),
        },
    ),
    # --- hours of the day ---
    profile_case("What are my peak hours?"),
    profile_case("When does the heat pump use the most power?", ["heat-pump"]),
    profile_case("What time of day do I use the most electricity?"),
    # --- power ---
    power_case(
        "What was the peak power of the heat pump yesterday?", YESTERDAY, TODAY, "heat-pump"
    ),
    power_case(
        "What's the average power of the fridge last week?", LAST_WEEK, THIS_WEEK, "fridge-kitchen"
    ),
    power_case("How many watts does the router draw on average today?", TODAY, NOW, "router-hall"),
    Case(
        "What was my average power draw yesterday?",
        "power_stats",
        lambda o: {"household_avg_w": o.household_avg_w(YESTERDAY, TODAY)},
    ),
    # --- always-on load ---
    baseload_case("What is my always-on load?"),
    baseload_case("What's my baseload?"),
    baseload_case("How much standby power do I have?"),
    # --- status and coverage ---
    Case(
        "Is the router online?",
        "device_status",
        lambda o: {
            "devices.0.device_id": "router-hall",
            "devices.0.online": True,
            "devices.0.power_w": o.latest_power("router-hall"),
        },
    ),
    Case("Which devices are offline?", "device_status", lambda o: {"offline": 0, "online": 7}),
    Case(
        "What is the heat pump doing right now?",
        "device_status",
        lambda o: {"devices.0.power_w": o.latest_power("heat-pump")},
    ),
    Case(
        "How complete is my data last week?",
        "data_coverage",
        lambda o: {"coverage": o.coverage(LAST_WEEK, THIS_WEEK)},
    ),
    Case(
        "Are there gaps in the data for February?",
        "data_coverage",
        lambda o: {"coverage": o.coverage(day(2, 1), LAST_MONTH)},
    ),
    # --- devices, help, and what it cannot answer ---
    Case("What devices do I have?", "list_devices", lambda o: {"count": 7}),
    Case("What can I ask?", None, says=lambda o: ["Which device uses the most power at night?"]),
    Case("What's the capital of France?", None, understood=False),
    Case("How much will I use next week?", None, understood=False),
]


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            index = int(part)
            if index >= len(data):
                return MISSING
            data = data[index]
        elif isinstance(data, dict):
            if part not in data:
                return MISSING
            data = data[part]
        else:
            return MISSING
    return data


def grade(case: Case, answer: ChatAnswer, oracle: Oracle) -> list[str]:
    """What is wrong with an answer (empty when it is correct)."""
    problems: list[str] = []
    if answer.understood != case.understood:
        problems.append(f"understood={answer.understood}, expected {case.understood}")
    made = [c for c in answer.tool_calls if c.ok]
    if case.tool is None:
        if made:
            problems.append(f"expected no data, got calls {[c.name for c in made]}")
        if not case.understood:
            # Nothing understood: no figures at all, only the suggested questions.
            head = answer.text.split("\n\n")[0]
            if any(ch.isdigit() for ch in head):
                problems.append(f"a number in a non-answer: {head!r}")
    else:
        calls = [c for c in made if c.name == case.tool]
        if not calls:
            return problems + [
                f"no successful {case.tool} call: {[c.to_dict() for c in answer.tool_calls]}"
            ]
        result = calls[0].result
        for path, expected in case.expect(oracle).items():
            actual = _lookup(result, path)
            if isinstance(expected, float):
                ok = actual is not MISSING and actual == pytest.approx(expected, rel=1e-6, abs=2e-3)
            else:
                ok = actual == expected
            if not ok:
                problems.append(f"{path}: got {actual!r}, expected {expected!r}")
    for phrase in case.says(oracle):
        if phrase not in answer.text:
            problems.append(f"text lacks {phrase!r}: {answer.text!r}")
    return problems


def test_the_golden_set_has_at_least_60_distinct_questions():
    questions = [case.question for case in GOLDEN]
    assert len(set(questions)) == len(questions) >= 60


@pytest.fixture(scope="session")
def oracle(seeded) -> Oracle:
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        return Oracle(RawOracle(session, user_id))


@pytest.mark.parametrize("case", GOLDEN, ids=str)
def test_offline_analyst_answers_golden_question_with_the_numbers_energy_core_gives(
    seeded, oracle, case
):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answer = OfflineAnalyst().answer(ctx, case.question)
        problems = grade(case, answer, oracle)
    assert not problems, f"{case.question!r}: {problems}\n{answer.text}"


def test_offline_analyst_scores_at_least_90_percent_on_the_golden_set(seeded, oracle):
    engine, user_id = seeded
    failures = {}
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        for case in GOLDEN:
            problems = grade(case, OfflineAnalyst().answer(ctx, case.question), oracle)
            if problems:
                failures[case.question] = problems
    score = 1 - len(failures) / len(GOLDEN)
    print(f"golden set: {len(GOLDEN) - len(failures)}/{len(GOLDEN)} correct ({score:.1%})")
    assert score >= 0.9, failures

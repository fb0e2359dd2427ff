"""A short question that follows on from the one before ("and the day before?", "what about the
fridge?", "and at night?") is read with it: the earlier question's figure, for the devices, the
period or the hours the new words name; its figures against the raw-readings oracle. Words that
name nothing of the household's are asked back, never filled in from the earlier question."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from tests.chat.conftest import NOW, chat_settings
from tests.chat.golden_cases import (
    EV,
    FRIDGE,
    HEAT,
    LAST_MONTH,
    LAST_WEEK,
    MONDAY,
    NIGHT,
    THIS_WEEK,
    TODAY,
    YESTERDAY,
    day,
)
from tests.chat.golden_oracle import Oracle
from tests.oracle import Oracle as RawOracle

OCTOBER = (day(10, 1), LAST_MONTH)


def _weekend_cost(o: Oracle) -> float:
    weekends = [(day(10, d), day(10, d + 1)) for d in (3, 4, 10, 11, 17, 18, 24, 25)]
    return sum(o.cost(lo, hi) for lo, hi in [*weekends, (day(10, 31), LAST_MONTH)])


CONVERSATIONS: list[tuple[list[str], str, str, Callable[[Oracle], float]]] = [
    (
        ["How much did the heat pump use yesterday?", "and the day before?"],
        "energy_usage",
        "consumption_wh",
        lambda o: o.energy(*MONDAY, HEAT),
    ),
    (
        [
            "How much did the heat pump use yesterday?",
            "and the day before?",
            "what about the fridge?",
        ],
        "energy_usage",
        "consumption_wh",
        lambda o: o.energy(*MONDAY, FRIDGE),
    ),
    (
        ["What did I spend last month?", "and the month before?", "how about on weekends?"],
        "cost",
        "cost",
        _weekend_cost,
    ),
    (
        ["Which device used the most last week?", "and this week?", "and at night?"],
        "top_devices",
        "ranking.0.consumption_wh",
        lambda o: o.energy(THIS_WEEK, NOW, HEAT, NIGHT),
    ),
    (
        [
            "How much did the heat pump use yesterday?",
            "what about the ev charger",
            "how much did that cost",
        ],
        "cost",
        "cost",
        lambda o: o.cost(YESTERDAY, TODAY, EV),
    ),
    (
        ["how much did the fridge use last week", "compared to normal?"],
        "explain_period",
        "actual_wh",
        lambda o: o.energy(LAST_WEEK, THIS_WEEK, FRIDGE),
    ),
    (
        ["how much did I use yesterday", "is that a lot"],
        "explain_period",
        "actual_wh",
        lambda o: o.energy(YESTERDAY, TODAY),
    ),
    (
        ["what was my bill last month", "and without the ev charger?"],
        "bill",
        "without.last.consumption_wh",
        lambda o: o.energy(LAST_MONTH, day(12, 1), EV),
    ),
    (
        ["how much did I use today", "and yesterday?"],
        "energy_usage",
        "consumption_wh",
        lambda o: o.energy(YESTERDAY, TODAY),
    ),
]


def _lookup(data, path: str):  # noqa: ANN001, ANN202
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _talk(ctx: ToolContext, questions: list[str]):  # noqa: ANN202
    history: list[dict[str, str]] = []
    answer = None
    for question in questions:
        answer = OfflineAnalyst().answer(ctx, question, history)
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
    return answer


@pytest.mark.parametrize(("questions", "tool", "path", "expected"), CONVERSATIONS)
def test_a_follow_up_gets_the_figure_of_the_earlier_question_for_what_it_names(
    seeded, questions, tool, path, expected
):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answer = _talk(ctx, questions)
        oracle = Oracle(RawOracle(session, user_id))
    made = [c for c in answer.tool_calls if c.ok and c.name == tool]
    assert made, answer.text
    assert _lookup(made[0].result, path) == pytest.approx(expected(oracle), rel=1e-6, abs=2e-3)
    assert answer.understood and "Read with your question" in answer.text


@pytest.mark.parametrize(
    "questions",
    [
        ["How much did the router cost in November?", "and the pool pump?"],
        ["How much did the heat pump use yesterday?", "and the weather?"],
        ["What's the capital of France?", "and last week?"],
    ],
)
def test_a_follow_up_naming_nothing_of_the_households_gets_no_figure(seeded, questions):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answer = _talk(ctx, questions)
    if questions[0].startswith("What's the capital"):
        # Nothing to follow on from: the question is read on its own.
        assert "Read with your question" not in answer.text
        return
    assert not answer.understood
    assert not [c for c in answer.tool_calls if c.ok]


def test_a_question_that_stands_on_its_own_is_not_read_with_the_one_before(seeded):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answer = _talk(ctx, ["How much did the fridge use last week?", "What is my baseload?"])
    assert [c.name for c in answer.tool_calls] == ["baseload"]
    assert "Read with your question" not in answer.text

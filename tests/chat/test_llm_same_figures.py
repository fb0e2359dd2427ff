"""The LLM path gives the figures the offline analyst gives: a model (the fake OpenAI-compatible
server on 127.0.0.1) that calls a tool the way a model would, with names and periods in words,
gets the same tool result as the offline analyst's call for the same question; and an empty
``ENERGY_OPENAI_MODEL`` asks for the default model."""

from __future__ import annotations

import json

import pytest

from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from energy_core.settings import DEFAULT_OPENAI_MODEL
from tests.chat.conftest import NOW, chat_settings
from tests.chat.fake_openai import FakeOpenAI, call, text
from tests.chat.test_llm_engine import llm_settings, run

# (question, the tool a model calls, its arguments as a model writes them)
SAMPLE = [
    (
        "How many hours was the heat pump above 2 kW last week?",
        "power_runs",
        {"devices": ["heat pump"], "period": "last week", "threshold_w": 2000},
    ),
    (
        "When did power exceed 5 kW yesterday?",
        "power_runs",
        {"period": "yesterday", "threshold_w": 5000},
    ),
    ("cost per wash", "power_runs", {"devices": ["washing machine"], "period": "last 30 days"}),
    (
        "What time does the EV charger usually start?",
        "power_runs",
        {"devices": ["EV charger"], "period": "last 30 days"},
    ),
    ("How much did solar save me last month?", "cost", {"period": "last month"}),
    (
        "How much did I use between 7am and 9am each day last week?",
        "energy_usage",
        {"period": "last week", "time_of_day": "07-09", "granularity": "day"},
    ),
    ("How much did I use in week 47?", "energy_usage", {"period": "week 47"}),
    (
        "How much did the house use on Saturday night?",
        "energy_usage",
        {"period": "Saturday night"},
    ),
    (
        "How much did I use at 7pm last week?",
        "energy_usage",
        {"period": "last week", "time_of_day": "19-20"},
    ),
    ("When was the last wash?", "power_runs", {"devices": ["washing machine"]}),
    ("Usage in the first week of November", "energy_usage", {"period": "first week of November"}),
    (
        "How much did we use from Christmas to New Year?",
        "energy_usage",
        {"period": "Christmas to New Year"},
    ),
]


def _offline_result(engine, user_id: int, question: str, tool: str) -> dict:  # noqa: ANN001
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        answer = OfflineAnalyst().answer(ctx, question)
    (made,) = [c for c in answer.tool_calls if c.name == tool]
    assert made.ok, made.error
    return made.result


@pytest.mark.parametrize(("question", "tool", "arguments"), SAMPLE)
def test_a_models_tool_call_gets_the_offline_analysts_figures(seeded, question, tool, arguments):
    engine, user_id = seeded
    expected = _offline_result(engine, user_id, question, tool)

    def script(body, n):  # noqa: ANN001, ANN202
        if n == 0:
            return call(tool, arguments)
        result = json.loads(body["messages"][-1]["content"])["result"]
        return text(f"Done: {len(json.dumps(result))} characters of figures.")

    with FakeOpenAI(script) as server:
        _, answer = run(engine, user_id, question, llm_settings(server))

    (made,) = answer.tool_calls
    assert made.ok, made.error
    assert made.result == expected
    sent = json.loads(server.requests[1]["messages"][-1]["content"])["result"]
    assert sent == json.loads(json.dumps(expected))


def test_an_empty_model_setting_asks_for_the_default_model(seeded, monkeypatch):
    engine, user_id = seeded
    monkeypatch.setenv("ENERGY_OPENAI_MODEL", "")

    with FakeOpenAI([text("Hello.")]) as server:
        _, answer = run(engine, user_id, "hello", llm_settings(server))

    assert server.requests[0]["model"] == DEFAULT_OPENAI_MODEL
    assert answer.model == DEFAULT_OPENAI_MODEL and answer.text == "Hello."


def test_the_model_is_told_the_households_order_of_dates_in_numbers(seeded):
    engine, user_id = seeded

    with FakeOpenAI([text("Noted.")]) as server:
        run(engine, user_id, "hello", llm_settings(server))

    system = server.requests[0]["messages"][0]["content"]
    assert "day first (11/3 is 11 March)" in system  # the demo household lives in London

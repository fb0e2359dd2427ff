"""The question model as a tool (what a model calls): the same answers and figures as the offline
analyst, names resolved strictly among the user's own devices, checked against raw readings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from energy_core.chat.toolbase import ToolContext
from energy_core.chat.tools import run_tool
from energy_core.db import session_scope
from tests.chat.conftest import NOW, chat_settings
from tests.oracle import Oracle

LONDON = ZoneInfo("Europe/London")
NOVEMBER = (datetime(2026, 11, 1, tzinfo=LONDON), datetime(2026, 12, 1, tzinfo=LONDON))


def test_a_ranking_asked_through_the_question_model_has_the_raw_readings_figures(seeded):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        made = run_tool(
            ctx, "answer_question", {"kind": "ranking", "periods": ["November"], "limit": 20}
        )
        oracle = Oracle(session, user_id)
        heat = oracle.household(*NOVEMBER, ["heat-pump"]).consumed
    assert made.ok, made.error
    (ranking,) = [f for f in made.result["figures"] if f["tool"] == "top_devices"]
    first = ranking["result"]["ranking"][0]
    assert first["device_id"] == "heat-pump"
    assert first["consumption_wh"] == pytest.approx(heat, abs=2e-3)
    assert "Heat pump" in made.result["answer"]
    assert made.evidence["tool"] == "answer_question"
    assert made.evidence["range"]["label"] == "November 2026"


def test_versus_through_the_question_model_gives_both_figures(seeded):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        made = run_tool(
            ctx,
            "answer_question",
            {"kind": "comparison", "versus": ["fridge", "router"], "periods": ["November"]},
        )
        oracle = Oracle(session, user_id)
        expected = [
            oracle.household(*NOVEMBER, [d]).consumed for d in ("fridge-kitchen", "router-hall")
        ]
    assert made.ok, made.error
    figures = [f["result"]["consumption_wh"] for f in made.result["figures"]]
    assert figures == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("name", ["pool pump", "frdge", "Bob's secret freezer"])
def test_a_name_that_is_not_the_users_is_refused_with_their_devices(seeded, name):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        made = run_tool(ctx, "answer_question", {"kind": "total", "devices": [name]})
    assert not made.ok and made.result is None
    assert f"matches {name!r}" in made.error and "Heat pump" in made.error

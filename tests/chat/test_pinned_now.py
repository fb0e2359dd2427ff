"""A pinned clock makes the chat and the demo seeding reproducible: ``ask --now``,
``demo seed --now`` and ENERGY_NOW all move "now" for periods, suggestions and history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from energy_cli import main as cli
from energy_core import clock
from energy_core.chat import load_history, suggested_questions
from energy_core.db import session_scope
from energy_core.demo import DEMO_EMAIL
from energy_core.models import Reading, User
from energy_core.settings import get_settings
from tests.factories import seed_device, steady_points
from tests.oracle import Oracle

# Tuesday 10 March 2026 is "yesterday" at the pinned instant; the heater ran only that day.
PINNED = "2026-03-11T12:00:00Z"
YESTERDAY = datetime(2026, 3, 10, tzinfo=UTC)


def seed_heater(engine) -> User:  # noqa: ANN001
    user, _ = seed_device(
        engine,
        steady_points(YESTERDAY + timedelta(hours=8), 1500.0, count=241, step=timedelta(minutes=1)),
        owner={"email": "clock@example.com"},
        device_id="heater",
        name="Garage heater",
    )
    return user


def ask_json(capsys, *args: str) -> dict:
    code = cli.main(["ask", "--user", "clock@example.com", "--json", "--no-history", *args])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_ask_now_answers_for_the_pinned_day(engine, capsys):
    user = seed_heater(engine)

    out = ask_json(capsys, "--now", PINNED, "How much did the heater use yesterday?")

    (made,) = out["tool_calls"]
    span = made["evidence"]["range"]
    assert datetime.fromisoformat(span["start"]) == YESTERDAY
    assert datetime.fromisoformat(span["end"]) == YESTERDAY + timedelta(days=1)
    with session_scope(engine, read_only=True) as session:
        expected = Oracle(session, user.id).device(
            "heater", YESTERDAY, YESTERDAY + timedelta(days=1)
        )
    assert expected.consumed > 5_000
    assert made["result"]["consumption_wh"] == round(expected.consumed, 3)
    assert f"{expected.consumed / 1000:.2f} kWh" in out["answer"]


def test_energy_now_gives_the_same_answer_as_ask_now(engine, capsys, monkeypatch):
    seed_heater(engine)
    question = "How much did the heater use yesterday?"
    pinned = ask_json(capsys, "--now", PINNED, question)

    monkeypatch.setenv("ENERGY_NOW", PINNED)
    first = ask_json(capsys, question)
    again = ask_json(capsys, question)

    assert first == pinned == again
    # Without a pin, yesterday is a day the heater did not run.
    monkeypatch.delenv("ENERGY_NOW")
    real = ask_json(capsys, question)
    real_range = real["tool_calls"][0]["evidence"]["range"]
    assert real_range != pinned["tool_calls"][0]["evidence"]["range"]


def test_a_now_without_an_offset_is_refused_before_anything_runs(engine, capsys):
    seed_heater(engine)
    with pytest.raises(SystemExit) as refused:
        cli.main(["ask", "--user", "clock@example.com", "--now", "2026-03-11T12:00", "hello"])
    assert refused.value.code == 2
    assert "has no UTC offset" in capsys.readouterr().err


def test_history_and_suggestions_follow_the_clock(engine, capsys):
    user = seed_heater(engine)

    assert cli.main(["ask", "--user", "clock@example.com", "--now", PINNED, "What can I ask?"]) == 0

    with session_scope(engine, read_only=True) as session:
        stored = load_history(session, user_id=user.id)
        assert [m.created_at for m in stored] == [clock.parse_instant(PINNED)] * 2
        with clock.pinned_now(clock.parse_instant(PINNED)):
            pinned = suggested_questions(session, user_id=user.id, settings=get_settings())
        real = suggested_questions(session, user_id=user.id, settings=get_settings())
    # The heater used energy in the pinned week only, so only then is it worth asking about.
    assert "How much did the Garage heater use last week?" in pinned
    assert not any("Garage heater" in q for q in real)


def test_demo_seed_now_ends_the_history_at_the_pinned_instant(engine, capsys):
    end = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)

    assert cli.main(["demo", "seed", "--days", "1", "--now", PINNED]) == 0

    with session_scope(engine, read_only=True) as session:
        user = session.exec(select(User).where(User.email == DEMO_EMAIL)).one()
        first, last = session.exec(
            select(func.min(Reading.ts), func.max(Reading.ts)).where(Reading.user_id == user.id)
        ).one()
    assert end - timedelta(minutes=2) < last <= end
    assert end - timedelta(days=1) <= first < end - timedelta(days=1) + timedelta(minutes=2)
    assert "Seeded the demo household" in capsys.readouterr().out


def test_demo_seed_reads_energy_now(engine, capsys, monkeypatch):
    monkeypatch.setenv("ENERGY_NOW", PINNED)

    assert cli.main(["demo", "seed", "--days", "1"]) == 0

    with session_scope(engine, read_only=True) as session:
        last = session.exec(select(func.max(Reading.ts))).one()
    assert clock.parse_instant(PINNED) - timedelta(minutes=2) < last <= clock.parse_instant(PINNED)


def test_a_tool_context_without_a_time_reads_the_clock(engine):
    from energy_core.chat import ToolContext

    user = seed_heater(engine)
    pinned = clock.parse_instant(PINNED)
    with session_scope(engine, read_only=True) as session:
        with clock.pinned_now(pinned):
            ctx = ToolContext.load(session, user_id=user.id)
        settings = get_settings().model_copy(update={"now": pinned})
        from_settings = ToolContext.load(session, user_id=user.id, settings=settings)
    assert ctx.now == pinned == from_settings.now
    assert str(ctx.now.tzinfo) == "UTC"

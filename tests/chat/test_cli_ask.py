"""``energy-monitor ask``: answers from the terminal, with --json for scripts."""

from __future__ import annotations

import json
from datetime import timedelta

from energy_cli import main as cli
from energy_core.chat import load_history
from energy_core.db import session_scope
from energy_core.types import utcnow
from tests.factories import seed_device, steady_points
from tests.oracle import Oracle


def seed_heater(engine):  # noqa: ANN001, ANN201
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    user, _ = seed_device(
        engine,
        steady_points(start, 2000.0, count=300, step=timedelta(minutes=1)),
        owner={"email": "cli@example.com"},
        device_id="heater",
        name="Garage heater",
    )
    return user


def test_ask_json_prints_the_answer_its_tool_calls_and_their_numbers(engine, capsys):
    user = seed_heater(engine)

    code = cli.main(
        [
            "ask",
            "--user",
            "cli@example.com",
            "--json",
            "How much did the heater use in the last 7 days?",
        ]
    )

    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["engine"] == "offline"
    (made,) = out["tool_calls"]
    assert made["tool"] == "energy_usage" and made["error"] is None
    assert made["evidence"]["devices"][0]["device_id"] == "heater"
    start = made["evidence"]["range"]["start"]
    end = made["evidence"]["range"]["end"]
    from datetime import datetime

    with session_scope(engine, read_only=True) as session:
        expected = Oracle(session, user.id).device(
            "heater", datetime.fromisoformat(start), datetime.fromisoformat(end)
        )
        stored = load_history(session, user_id=user.id)
    assert made["result"]["consumption_wh"] == round(expected.consumed, 3)
    assert out["figures"][0]["result"]["consumption_wh"] == made["result"]["consumption_wh"]
    assert f"{expected.consumed / 1000:.2f} kWh" in out["answer"]
    assert [m.role for m in stored] == ["user", "assistant"]


def test_ask_prints_plain_text_and_can_leave_history_alone(engine, capsys):
    user = seed_heater(engine)

    code = cli.main(["ask", "--user", "cli@example.com", "--no-history", "What can I ask?"])

    captured = capsys.readouterr()
    assert code == 0 and "I understand" in captured.out
    assert "offline engine" in captured.err
    with session_scope(engine, read_only=True) as session:
        assert load_history(session, user_id=user.id) == []


def test_ask_for_an_unknown_user_is_an_error_message(engine, capsys):
    assert cli.main(["ask", "--user", "nobody@example.com", "hello"]) == 2
    assert "nobody@example.com" in capsys.readouterr().err


def test_ask_prints_names_and_figures_as_plain_text_not_escaped_markdown(engine, capsys):
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    seed_device(
        engine,
        steady_points(start, 12.0, count=300, step=timedelta(minutes=1)),
        owner={"email": "cli@example.com"},
        device_id="router",
        name="Broadband router",
        location="Hallway",
    )

    code = cli.main(
        [
            "ask",
            "--user",
            "cli@example.com",
            "--no-history",
            "How much did the dishwasher use yesterday?",
        ]
    )

    out = capsys.readouterr().out
    assert code == 0 and "Broadband router (Hallway)" in out
    assert "\\" not in out and "**" not in out
    # The questions the Chat page shows as buttons are listed once, after the answer.
    suggestions = [line for line in out.splitlines() if line.startswith("- ")]
    assert "- Which device uses the most power at night?" in suggestions
    assert len(suggestions) == len(set(suggestions))

    cli.main(["ask", "--user", "cli@example.com", "--no-history", "What devices do I have?"])
    out = capsys.readouterr().out
    assert "- Broadband router (other) in the Hallway" in out and "\\" not in out

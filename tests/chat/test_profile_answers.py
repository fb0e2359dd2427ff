"""When a device usually runs: a device on all day is said to run all day, its busiest hour named
only when it stands out, never as a zero-length range of hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.chat.wording import hour_ranges
from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from tests.chat.conftest import NOW, chat_settings
from tests.factories import add_readings, make_device, make_user
from tests.oracle import Oracle


def ask(engine, user_id: int, question: str):  # noqa: ANN001, ANN201
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        return OfflineAnalyst().answer(ctx, question)


def test_every_hour_of_the_day_is_all_day_not_an_empty_range():
    assert hour_ranges(list(range(24))) == "all day"
    assert hour_ranges([22, 23, 0, 1]) == "22:00-02:00"


def test_the_demo_fridge_runs_all_day(seeded):
    engine, user_id = seeded

    answer = ask(engine, user_id, "When does the kitchen fridge use the most power?")

    (made,) = answer.tool_calls
    assert made.name == "hourly_profile" and len(made.result["usual_hours"]) == 24
    assert "runs all day" in answer.text
    assert "00:00-00:00" not in answer.text


def test_a_steady_device_has_no_busiest_hour(seeded, neighbour):
    engine, _ = seeded

    answer = ask(engine, neighbour, "When does the kitchen fridge use the most power?")

    assert "runs all day at a steady 90 W on average" in answer.text
    assert "no hour clearly busier" in answer.text
    assert "00:00-00:00" not in answer.text


def test_a_device_on_all_day_with_a_clear_busiest_hour_names_it(engine):
    start = NOW.replace(hour=0, minute=0) - timedelta(days=3)
    with session_scope(engine) as session:
        user = make_user(session, email="router@example.com", timezone="Europe/London")
        router = make_device(session, user=user, device_id="router", name="Router")
        points = [
            (at, 190.0 if at.hour == 18 else 100.0)
            for at in (start + timedelta(minutes=5 * i) for i in range(3 * 24 * 12))
        ]
        add_readings(session, user=user, device=router, points=points, now=NOW)
        user_id = user.id
    rollup_dirty_hours(engine, settings=chat_settings())

    answer = ask(engine, user_id, "When does the router use the most power?")

    assert "runs all day (104 W on average)" in answer.text
    assert "the most power at 18:00 (190 W on average)" in answer.text
    assert "no hour clearly busier" not in answer.text


def test_a_household_of_one_device_in_one_room_is_counted_in_the_singular(engine):
    with session_scope(engine) as session:
        user = make_user(session, email="one@example.com", timezone="Europe/London")
        make_device(session, user=user, device_id="kettle", name="Kettle", location="Kitchen")
        user_id = user.id

    answer = ask(engine, user_id, "What devices do I have?")

    assert "You have 1 device in 1 room:" in answer.text
    assert "Kettle" in answer.text


def test_a_day_a_device_drew_nothing_has_no_busiest_hour(seeded):
    # The demo's EV charger does not charge every day: on such a day the answer says it drew
    # nothing, instead of "the most power at 00:00 (0.0 W)".
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        oracle = Oracle(session, user_id)
    london = ZoneInfo("Europe/London")
    days = [datetime(2026, 11, d, tzinfo=london) for d in range(2, 30)]
    idle = [
        d
        for d in days
        if oracle.device("ev-charger", d, d + timedelta(days=1)).consumed == 0
        and oracle.device("ev-charger", d, d + timedelta(days=1)).covered
    ]
    assert idle, "the demo's EV charger charged every day"
    day = idle[0]

    answer = ask(engine, user_id, f"What time did the EV charger charge on {day:%-d %B}?")

    (made,) = answer.tool_calls
    assert made.name == "hourly_profile" and made.result["peak_hours"][0]["avg_w"] == 0
    assert "the EV charger drew no power" in answer.text
    assert "0.0 W)" not in answer.text

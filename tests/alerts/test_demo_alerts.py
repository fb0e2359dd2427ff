"""The demo household shows the alerts to a newcomer, on SQLite and PostgreSQL: its budget is
below its usual bill, so its first evaluation explains a bill on course to exceed the budget;
its devices report and their hours are usual, so no device alert. (In November its heat pump
draws more as the weather cools: the always-on load rises week over week, and says so.)"""

from __future__ import annotations

from datetime import UTC, datetime

from energy_core.alerts import evaluate_alerts
from energy_core.db import session_scope
from energy_core.demo import seed_demo_household
from energy_core.rollup import rollup_dirty_hours
from tests.alerts.household import alerts, figures_of

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_demo_household_is_on_course_to_exceed_its_budget(engine):
    with session_scope(engine) as s:
        seeded = seed_demo_household(s, now=NOW, days=30, step_s=600)
    rollup_dirty_hours(engine)
    evaluate_alerts(engine, now=NOW)
    shown = {a["kind"]: a for a in alerts(engine, seeded.user_id, now=NOW)}
    assert set(shown) == {"budget", "baseload_rising"}
    alert = shown["budget"]
    assert (alert["kind"], alert["title"]) == ("budget", "Budget about to be exceeded")
    assert alert["explanation"].startswith(
        "The bill of this billing period (1 Nov to 30 Nov) is projected at "
    )
    figures = figures_of(alert)
    assert figures["Projected bill"] > figures["Budget"]
    assert figures["Bill so far"] < figures["Budget"]

"""The weekly summary on the Live page through AppTest, on SQLite and PostgreSQL: a closed
section below the live figures that holds nothing until opened; opened, the constructed
household's exact totals and changes, its movers in two tabs, the always-on change, another week
on choice, and nothing of another household."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.apptest import open_app, shown_text, sign_in
from tests.factories import PASSWORD
from tests.insights.household import NOW, seed_week_household
from webapp import loaders
from webapp.summary_view import OPEN_KEY


@pytest.fixture
def home(app_env, engine, monkeypatch) -> None:
    monkeypatch.setattr(loaders, "now_utc", lambda: NOW.astimezone(UTC))
    seed_week_household(engine, email="wendy@example.com")
    seed_week_household(engine, email="other@example.com")


def live_page(email: str = "wendy@example.com", *, opened: bool = True):
    """The Live page the sign-in lands on; ``opened``: then its summary section opened, as a
    click on it does (a rerun with the section's state set)."""
    at = sign_in(open_app(), email, PASSWORD)
    assert [title.value for title in at.title][-1] == "Live"
    if opened:
        at.session_state[OPEN_KEY] = True
        at.run()
    return at


def summary_of(at):  # noqa: ANN001, ANN201
    [section] = [e for e in at.expander if e.label == "Weekly summary"]
    return section


def test_the_live_page_has_a_closed_summary_section_that_holds_nothing_until_opened(home):
    at = live_page(opened=False)
    assert not at.exception
    section = summary_of(at)
    assert section.proto.expanded is False
    assert not section.children


def test_the_opened_section_has_last_weeks_summary(home):
    at = live_page()
    assert not at.exception
    section = summary_of(at)
    shown = {m.label: (m.value, m.delta) for m in section.metric}
    assert shown == {
        "Consumption": ("188.2 kWh", "+81%"),
        "Generation": ("14.00 kWh", "+0%"),
        "Grid import": ("180.3 kWh", "+81%"),
        "Grid export": ("6.16 kWh", "-36%"),
        "Cost": ("€54.10", "+81%"),
    }
    markdown = [m.value for m in section.markdown]
    assert (
        "- Heater (consumption): 168.0 kWh, +100% (+84.00 kWh)\n"
        "- Kettle (consumption): 3.36 kWh, +0.48 kWh (not comparable: readings cover only 86% of "
        "the baseline)\n"
        "- Fridge (consumption): 16.80 kWh, +0% (+0.00 kWh)\n"
        "- Solar (generation): 14.00 kWh, +0% (+0.00 kWh)"
    ) in markdown
    assert (
        "- Fridge (consumption): 16.80 kWh, +25% (+3.36 kWh)\n"
        "- Heater (consumption): 168.0 kWh, not comparable: the baseline has no readings\n"
        "- Kettle (consumption): 3.36 kWh, not comparable: the baseline has no readings\n"
        "- Solar (generation): 14.00 kWh, not comparable: the baseline has no readings"
    ) in markdown
    assert [t.label for t in section.tabs] == ["Movers vs the week before", "vs a year earlier"]
    assert "**Always-on load:** 1.12 kW, +520 W on the week before" in markdown
    assert "**Alerts opened this week:**\n\nNo alert opened this week." in markdown


def test_another_week_is_one_choice_away(home):
    at = live_page()
    week = next(s for s in summary_of(at).selectbox if s.label == "Week")
    assert week.options[:2] == ["2026-W48 (from Mon 23 Nov)", "2026-W47 (from Mon 16 Nov)"]
    at = week.select(week.value - timedelta(weeks=1)).run()
    shown = {m.label: m.value for m in summary_of(at).metric}
    assert (shown["Consumption"], shown["Cost"]) == ("103.7 kWh", "€29.81")


def test_a_household_without_devices_sees_no_figures_of_another(home, engine):
    from energy_core.db import session_scope
    from tests.factories import make_user

    with session_scope(engine) as s:
        make_user(s, email="empty@example.com")
    at = live_page("empty@example.com")
    assert not at.exception
    assert {m.label: m.value for m in summary_of(at).metric}["Consumption"] == "no data"
    assert "Heater" not in shown_text(at)

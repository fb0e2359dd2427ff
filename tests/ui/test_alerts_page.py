"""The Alerts page through AppTest, on SQLite and PostgreSQL: the household's alert with its
explanation, figures and evidence chart; acknowledged and muted from the page; the settings
saved; the sidebar's count; nothing of another household."""

from __future__ import annotations

import json
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from energy_core.alerts import evaluate_alerts, household_settings
from energy_core.alerts.figures import figure_text
from energy_core.db import session_scope
from energy_core.models import User
from tests.alerts.household import NOW, alerts
from tests.alerts.test_lifecycle import OFFLINE_TEXT, fridge_household
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import PASSWORD
from webapp import loaders
from webapp.charts import device_colors


@pytest.fixture
def home(app_env, engine, monkeypatch) -> tuple[int, int]:
    monkeypatch.setattr(loaders, "now_utc", lambda: NOW.astimezone(UTC))
    mine = fridge_household(engine, email="mia@example.com")
    theirs = fridge_household(engine, email="theo@example.com")
    with session_scope(engine) as s:
        from sqlmodel import select

        from energy_core.models import Device

        device = s.exec(select(Device).where(Device.user_id == theirs)).one()
        device.name = "Their cellar freezer"
        s.add(device)
    evaluate_alerts(engine, now=NOW)
    return mine, theirs


def alerts_page(email: str = "mia@example.com"):
    return sign_in(open_app(), email, PASSWORD).switch_page("pages/alerts.py").run()


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_page_explains_the_alert_with_its_figures_and_chart(home):
    mine, _ = home
    at = alerts_page()
    assert not at.exception
    text = shown_text(at)
    assert "Kitchen Fridge is offline" in text
    assert OFFLINE_TEXT in [m.value for m in at.markdown]
    shown = {m.label: m.value for m in at.metric}
    assert shown == {
        "Minutes without a reading": "125 min",
        "Offline after": "90 min",
        "Usual reporting interval": "1,800 s",
    }
    # The evidence chart, in the fridge's own colour (the same on every page), its title in the
    # page's text above it, where a phone's width wraps it: Vega cut its own title to the chart's
    # width ("Energy cost so far this period, day by d…").
    title = "**Kitchen Fridge: average power per hour**"
    assert title in [m.value.replace("\\", "") for m in at.markdown]
    (chart,) = at.get("vega_lite_chart")
    assert "title" not in json.loads(chart.proto.spec)
    colour = device_colors(loaders.load_devices(mine))["kitchen-fridge"]
    assert colour in text
    assert "Device offline (1)" in [s.value for s in at.subheader]
    assert "Their cellar freezer" not in text


def test_acknowledge_then_mute_from_the_page(home, engine):
    mine, theirs = home
    at = alerts_page()
    button(at, "Acknowledge").click()
    at = at.run()
    assert not at.exception
    assert alerts(engine, mine)[0]["state"] == "acknowledged"
    assert "Seen" in shown_text(at)
    at.selectbox(key=f"alert-{alerts(engine, mine)[0]['id']}-for").select("forever")
    button(at, "Mute").click()
    at = at.run()
    [alert] = alerts(engine, mine)
    assert alert["muted"] is True
    assert "Unmute" in [b.label for b in at.button]
    assert alerts(engine, theirs)[0]["state"] == "open"


def test_the_household_settings_are_saved(home, engine):
    mine, _ = home
    at = alerts_page()
    at.toggle[0].set_value(True)
    next(t for t in at.text_input if t.label == "Webhook URL (optional)").input(
        "https://hooks.example.com/energy"
    )
    button(at, "Save household settings").click()
    at = at.run()
    assert not at.exception
    with session_scope(engine, read_only=True) as s:
        saved = household_settings(s, user_id=mine)
    assert (saved.cheap_period, saved.webhook_url) == (True, "https://hooks.example.com/energy")
    assert saved.webhook_secret in shown_text(at)


def test_the_sidebar_counts_new_alerts(home):
    from webapp.alerts_view import alerts_title

    mine, _ = home
    assert alerts_title(mine) == "Alerts (1)"


def test_a_webhook_on_the_servers_own_network_is_refused_with_a_message(home, engine):
    mine, _ = home
    at = alerts_page()
    next(t for t in at.text_input if t.label == "Webhook URL (optional)").input(
        "http://169.254.169.254/latest/meta-data/"
    )
    button(at, "Save household settings").click()
    at = at.run()
    assert not at.exception
    assert any("private, loopback, link-local or reserved" in e.value for e in at.error)
    with session_scope(engine, read_only=True) as s:
        assert household_settings(s, user_id=mine).webhook_url is None


def test_an_alerts_figures_read_as_every_page_shows_power_and_money():
    # The unusual-use alert showed "542.01 W" under an explanation that says "was 542 W".
    assert figure_text({"label": "Average power", "value": 542.012, "unit": "W"}) == "542 W"
    assert figure_text({"label": "Rise", "value": 1234.5, "unit": "W"}) == "1.23 kW"
    # Money as the bill and the tariff pages write it ("£23.50", not "23.50 GBP"), a code only
    # for a currency without a symbol.
    assert figure_text({"label": "Bill so far", "value": 23.5, "unit": "GBP"}) == "£23.50"
    assert figure_text({"label": "Bill so far", "value": 23.5, "unit": "SEK"}) == "23.50 SEK"
    assert figure_text({"label": "Import price now", "value": 0.09, "unit": "GBP/kWh"}) == (
        "£0.09/kWh"
    )
    assert figure_text({"label": "Offline after", "value": 90, "unit": "min"}) == "90 min"
    assert figure_text({"label": "Interval", "value": 1800, "unit": "s"}) == "1,800 s"


def test_when_an_alert_opened_is_said_in_the_households_time(home, engine):
    mine, _ = home
    with session_scope(engine) as s:
        s.get(User, mine).timezone = "Europe/Paris"
    at = alerts_page()

    assert not at.exception
    opened = NOW.astimezone(ZoneInfo("Europe/Paris"))
    times = [c.value for c in at.caption if c.value.startswith("Opened")]
    # It said "Opened 2026-... UTC", an hour off in Paris.
    assert times == [f"Opened {opened:%a %-d %b %Y %H:%M} (Europe/Paris)"]

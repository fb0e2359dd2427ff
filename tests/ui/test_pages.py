"""Every page through AppTest, as an admin and as a member, on a seeded database (SQLite and
PostgreSQL): no exception, the numbers energy_core computes, and nothing of another household."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from energy_core.db import session_scope
from energy_core.rollup import dirty_backlog
from energy_core.stats import (
    DEFAULT_STANDBY_W,
    compare,
    duty_cycle,
    household_now,
    last_days_period,
    load_household,
    preset_period,
    read_series,
)
from tests.apptest import live_devices_table, shown_text
from tests.ui.conftest import MEMBER_DEVICES, as_admin, as_member, metrics, show
from webapp import loaders
from webapp.loaders import minute
from webapp.units import format_energy, format_money, format_power, format_share

HOUSEHOLD_PAGES = {
    "pages/live.py": "Live",
    "pages/history.py": "History",
    "pages/device.py": "Device",
    "pages/alerts.py": "Alerts",
    "pages/devices.py": "Devices",
    "pages/account.py": "Account",
}
ADMIN_PAGES = {"pages/admin_users.py": "Users", "pages/admin_status.py": "System status"}
# Names only the admin's devices carry (not type names, which both households may show).
ADMIN_DEVICE_NAMES = ("Kitchen fridge", "Broadband router", "Living room lights", "Solar inverter")
MEMBER_DEVICE_NAMES = tuple(d.name for d in MEMBER_DEVICES)


def titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


# --- every page renders ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*HOUSEHOLD_PAGES, *ADMIN_PAGES])
def test_admin_opens_every_page_without_an_error(households, path):
    at = show(as_admin(households), path)

    assert not at.exception
    assert not at.error
    assert ({**HOUSEHOLD_PAGES, **ADMIN_PAGES})[path] in titles(at)


@pytest.mark.parametrize("path", list(HOUSEHOLD_PAGES))
def test_member_opens_every_household_page_without_an_error(households, path):
    at = show(as_member(households), path)

    assert not at.exception
    assert not at.error
    assert HOUSEHOLD_PAGES[path] in titles(at)


@pytest.mark.parametrize("path", list(ADMIN_PAGES))
def test_member_cannot_reach_admin_pages(households, path):
    at = as_member(households)

    # The page is not registered for a member at all, so there is nothing to switch to.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(path)
    text = shown_text(at)
    assert ADMIN_PAGES[path] not in text
    assert households.admin_email not in text


# --- the numbers are energy_core's -------------------------------------------------------------


def test_live_page_shows_today_as_the_read_layer_computes_it(households):
    at = show(as_admin(households), "pages/live.py")

    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=households.admin_id)
        status = household_now(session, household, now=households.now)
    shown = metrics(at)
    assert shown["Consumption today"] == format_energy(status.today.consumption_wh)
    assert shown["Generation today"] == format_energy(status.today.generation_wh)
    assert shown["Cost today"] == format_money(status.today.cost, "GBP")
    # Readings ended two hours ago: every device is offline and the household draws nothing known.
    assert "0 of 7 online" in shown_text(at)
    table = live_devices_table(at)
    for device in status.devices:
        row = table.loc[device.device.name]
        assert row["Status"] == "Offline"
        assert row["Consumption today (kWh)"] == pytest.approx(device.today.consumption_wh / 1000)
        assert row["Generation today (kWh)"] == pytest.approx(device.today.generation_wh / 1000)


def test_history_today_in_its_first_minute_says_when_the_devices_were_last_seen(
    households, monkeypatch
):
    # Half a minute after midnight in London: "today" is still empty.
    midnight = (households.now + timedelta(days=1)).replace(hour=0, minute=0)
    monkeypatch.setattr(loaders, "now_utc", lambda: midnight + timedelta(seconds=30))
    at = show(as_admin(households), "pages/history.py")
    at.selectbox(key="history_range").set_value("today").run()

    assert not at.exception
    notes = " ".join(info.value for info in at.info)
    assert "last seen" in notes
    assert "never sent a reading" not in notes


def test_history_page_shows_the_week_and_its_comparison_as_the_read_layer_computes_them(
    households,
):
    at = show(as_member(households), "pages/history.py")

    period = preset_period("last_7_days", now=minute(households.now), timezone="Europe/Berlin")
    with session_scope(read_only=True) as session:
        selection = load_household(session, user_id=households.member_id).select(period)
        together, *_ = compare(session, selection, period.previous())
    shown = metrics(at)
    assert shown["Consumption"] == format_energy(together.current.consumption_wh)
    assert shown["Cost"] == format_money(together.current.cost, "EUR")
    assert shown["Coverage"] == format_share(together.current.coverage, digits=1)
    assert together.current.coverage < 1  # the heat pump's two-hour hole
    (table,) = [frame.value for frame in at.dataframe]
    household = table.set_index(["Device", "Figure"]).loc[("Household", "Consumption")]
    assert household["This period"] == f"{together.current.consumption_wh / 1000:,.2f} kWh"
    assert household["Previous"] == f"{together.baseline.consumption_wh / 1000:,.2f} kWh"
    assert "Data coverage" in shown_text(at)


def test_device_page_shows_the_figures_the_read_layer_computes(households):
    at = show(as_member(households), "pages/device.py", device="mia-heatpump")

    # The default window, "Last 7 days": today so far and the 6 whole days before, as on History.
    period = last_days_period(
        7, now=minute(households.now), timezone="Europe/Berlin", label="last 7 days"
    )
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=households.member_id)
        selection = household.select(period, device_ids=["mia-heatpump"])
        figure = read_series(session, selection).device_total("mia-heatpump")
        duty = duty_cycle(
            session, selection, household.device("mia-heatpump"), standby_w=DEFAULT_STANDBY_W
        )
    shown = metrics(at)
    assert shown["Consumption"] == format_energy(figure.consumption_wh)
    assert shown["Average power"] == format_power(figure.avg_w)
    assert shown["Minimum"] == format_power(figure.min_w)
    assert shown["Peak power"] == format_power(figure.max_w)
    assert shown["Duty cycle"] == format_share(duty.duty_cycle)
    assert shown["Coverage"] == format_share(figure.coverage, digits=1)
    assert shown["Cost"] == format_money(figure.cost, "EUR")
    # The hole, and the time since the last reading stopped holding, are the two gaps.
    assert shown["Gaps"].startswith("2 · ")
    assert [g.duration_s for g in duty.gaps][0] == pytest.approx(2 * 3600 - 300, abs=5)
    assert "Mia heat pump" in shown_text(at)


def test_device_page_downsamples_a_month_to_at_most_two_thousand_points(households):
    at = as_admin(households)
    at.query_params["device"] = "heat-pump"
    at.switch_page("pages/device.py").run()
    next(box for box in at.selectbox if box.label == "Window").set_value("30d").run()

    assert not at.exception
    assert "buckets of" in shown_text(at)  # 4,320 readings do not fit in 2,000 points


def test_admin_status_page_reports_the_backlog_and_backend(households, database_url):
    at = show(as_admin(households), "pages/admin_status.py")

    with session_scope(read_only=True) as session:
        backlog = dirty_backlog(session)
    shown = metrics(at)
    assert shown["Dirty hours"] == f"{backlog:,}"
    assert shown["Database"] == ("SQLite" if database_url.startswith("sqlite") else "PostgreSQL")
    assert shown["Last rollup"].endswith("ago")


# --- households stay apart ---------------------------------------------------------------------


@pytest.mark.parametrize("path", list(HOUSEHOLD_PAGES))
def test_member_never_sees_the_admins_devices_or_figures(households, path):
    admin = show(as_admin(households), path)  # fills the shared data caches first
    member = show(as_member(households), path)  # same process, same caches

    assert not admin.exception and not member.exception
    member_text, admin_text = shown_text(member), shown_text(admin)
    if path != "pages/account.py":
        assert any(name in admin_text for name in ADMIN_DEVICE_NAMES)
    for name in ADMIN_DEVICE_NAMES:
        assert name not in member_text
    for name in MEMBER_DEVICE_NAMES:
        assert name not in admin_text
    if path in ("pages/live.py", "pages/history.py"):
        label = "Consumption today" if path == "pages/live.py" else "Consumption"
        assert metrics(admin)[label] not in (metrics(member).values())


def test_a_device_id_of_another_household_shows_the_members_own_device(households):
    # "heat-pump" is the admin's; Mia has no device of that id.
    at = show(as_member(households), "pages/device.py", device="heat-pump")

    assert not at.exception
    text = shown_text(at)
    assert "Heat pump (heat-pump)" not in text
    # Her own device with the most energy today instead.
    assert "Mia heat pump (mia-heatpump)" in text

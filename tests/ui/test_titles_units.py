"""Column and tooltip titles name the unit of what they show as the rest of the product writes
it: money by the currency's symbol ("Cost today (£)"). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.apptest import live_devices_table
from tests.ui.conftest import as_admin, show
from webapp import loaders
from webapp.units import currency_symbol


def tooltip_titles(at: AppTest) -> list[str]:
    """The titles of every tooltip field of every chart the run drew."""
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for layer in [spec, *spec.get("layer", [])]:
            tips = layer.get("encoding", {}).get("tooltip", [])
            titles += [tip.get("title") for tip in (tips if isinstance(tips, list) else [tips])]
    return titles


def test_the_live_table_titles_cost_with_the_currency_symbol_and_keeps_its_column_name(
    households,
):
    at = show(as_admin(households), "pages/live.py")
    table = live_devices_table(at)

    # The frame's column is the same whatever the currency; only its title names the symbol.
    assert "Cost today" in table.columns
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["Cost today"]["label"] == "Cost today (£)"
    assert "GBP" not in at.dataframe[0].proto.columns


def test_the_history_shares_tooltip_titles_cost_with_the_currency_symbol(households):
    at = show(as_admin(households), "pages/history.py")

    titles = tooltip_titles(at)
    assert "Cost (£)" in titles
    assert "Cost (GBP)" not in titles


def test_a_currency_without_a_symbol_is_titled_by_its_code():
    assert [currency_symbol(code) for code in ("GBP", "eur", "CHF", "SEK")] == [
        "£",
        "€",
        "CHF",
        "SEK",
    ]


def power_tooltips(at: AppTest) -> list[tuple[str, str, str]]:
    """(axis title, tooltip title, tooltip format) of every power tooltip of the run's charts."""
    found = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for layer in [spec, *spec.get("layer", [])]:
            encoding = layer.get("encoding", {})
            axis = str(encoding.get("y", {}).get("title") or encoding.get("color", {}).get("title"))
            for tip in encoding.get("tooltip", []):
                if tip.get("title", "").split(" ")[-1] in ("W", "kW"):
                    found.append((axis, tip["title"], tip.get("format")))
    return found


def test_history_power_tooltips_name_and_show_the_unit_of_their_axis(households):
    at = show(as_admin(households), "pages/history.py")

    tips = power_tooltips(at)
    # The average power chart (its axis "Average power (kW)") and the weekday x hour heatmap
    # (its scale "Average kW"): each hover says kW, with the axis's two decimals.
    assert ("Average power (kW)", "Average kW", ",.2f") in tips
    assert ("Average kW", "Average kW", ",.2f") in tips
    assert [tip for tip in tips if tip[1].endswith(" W")] == []


def test_device_power_tooltips_name_the_unit_of_their_axis(households):
    at = show(as_admin(households), "pages/device.py")

    on_power_axes = [
        (axis, title) for axis, title, _ in power_tooltips(at) if axis.endswith(("(W)", "(kW)"))
    ]
    assert on_power_axes
    for axis, title in on_power_axes:
        assert axis.rpartition("(")[2].rstrip(")") == title.rpartition(" ")[2], (axis, title)


def test_live_power_tooltips_name_the_unit_of_their_axis(households, monkeypatch):
    # Ten minutes after the last readings: the last hour has a chart.
    monkeypatch.setattr(loaders, "now_utc", lambda: households.seed_end + timedelta(minutes=10))
    at = show(as_admin(households), "pages/live.py")

    tips = power_tooltips(at)
    assert {title for _, title, _ in tips} == {"Mean kW", "Peak kW", "Household net kW"}
    assert {axis for axis, _, _ in tips} <= {"Power (kW)", "None"}


def test_live_says_in_one_line_when_no_device_is_online(households, monkeypatch):
    # Forty minutes after the last readings every device is offline: "0 W" now and a blank end
    # of the chart would otherwise read as a house using nothing.
    monkeypatch.setattr(loaders, "now_utc", lambda: households.seed_end + timedelta(minutes=40))
    at = show(as_admin(households), "pages/live.py")
    notices = [w.value for w in at.warning]
    assert len(notices) == 1
    assert re.fullmatch(
        r"No device is online: the last reading came 4\d min ago · \d\d:\d\d\. "
        r"Power now counts online devices only\.",
        notices[0],
    ), notices[0]

    # A minute after them (the overview is cached per household: read it anew).
    st.cache_data.clear()
    monkeypatch.setattr(loaders, "now_utc", lambda: households.seed_end + timedelta(minutes=1))
    at = show(as_admin(households), "pages/live.py")
    assert not [w for w in at.warning if "online" in w.value]

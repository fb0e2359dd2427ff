"""Column and tooltip titles name the unit of what they show as the rest of the product writes
it: money by the currency's symbol ("Cost today (£)"). On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.apptest import live_devices_table
from tests.ui.conftest import as_admin, show
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

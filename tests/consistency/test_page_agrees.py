"""The pages say what the read API says: for a few selections of the consistency household
(yesterday, two days across the clock change, one device over the last 7 days, one room this
month), History's headline figures as shown and its comparison CSV, value by value, equal the
API's figures (and, where the API has no such figure, the readings'); a consumer's, the solar
inverter's and the grid meter's Device page show their /stats figures. SQLite and PostgreSQL,
through Streamlit's AppTest with the app's clock pinned."""

from __future__ import annotations

import io
from datetime import UTC, date

import pandas as pd
import pytest
import streamlit as st
from fastapi.testclient import TestClient

from energy_core.settings import get_settings
from energy_core.stats import days_period, preset_period
from energy_core.stats.period import buckets
from tests.apptest import COOKIE_KEY, REPO, keep_downloads, open_app, serve_like_a_server, sign_in
from tests.consistency.conftest import LONDON, NOW, Seeded
from tests.consistency.sources import Target, api_row, api_stats, api_summary, members_of
from tests.oracle import Oracle
from webapp import loaders
from webapp.units import format_energy, format_money, format_power, format_share

SELECTIONS = {
    "yesterday": (
        lambda: preset_period("yesterday", now=NOW, timezone=LONDON),
        {"range": "yesterday"},
        Target("household"),
    ),
    "across the clock change": (
        lambda: days_period(date(2026, 3, 28), date(2026, 3, 29), timezone=LONDON),
        {"range": "custom", "from": "2026-03-28", "to": "2026-03-29"},
        Target("household"),
    ),
    "heat pump, last 7 days": (
        lambda: preset_period("last_7_days", now=NOW, timezone=LONDON),
        {"range": "last_7_days", "devices": "heat-pump"},
        Target("device", "heat-pump"),
    ),
    "kitchen, this month": (
        lambda: preset_period("this_month", now=NOW, timezone=LONDON),
        {"range": "this_month", "rooms": "Kitchen"},
        Target("room", "Kitchen"),
    ),
}
METRICS = {"Consumption": "consumption_wh", "Generation": "generation_wh", "Cost": "cost"}


@pytest.fixture(scope="module")
def app(seeded: Seeded):
    """The app as a server serves it, on the module's household, its clock at the suite's now;
    every CSV a page offers is kept by its button's key."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENERGY_COOKIE_KEY", COOKIE_KEY)
        patch.chdir(REPO)
        patch.setattr(loaders, "now_utc", lambda: NOW.astimezone(UTC))
        downloads = keep_downloads(patch)
        serve_like_a_server(patch)
        get_settings.cache_clear()
        st.cache_data.clear()
        yield downloads
        st.cache_data.clear()
        get_settings.cache_clear()


@pytest.mark.parametrize("name", list(SELECTIONS))
def test_the_history_page_and_its_csv_say_what_the_api_says(
    app: dict, seeded: Seeded, client: TestClient, oracle: Oracle, name: str
):
    make_period, address, target = SELECTIONS[name]
    period = make_period()
    members = members_of(oracle, target)
    rooms = {target.name: members} if target.kind == "room" else {}
    api = api_summary(client, seeded.read_key, period, target, rooms)
    if target.kind == "device":
        api = api_stats(client, seeded.read_key, period, target.name)
    sums = oracle.household(period.start, period.end, members)
    taking_part = [d for d in members if oracle.household(period.start, period.end, [d]).span]
    avg_w = oracle.avg_w(sums, len(taking_part), period.seconds)

    app.clear()
    at = sign_in(open_app(), seeded.email)
    for key, value in address.items():
        at.query_params[key] = value
    at = at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception

    shown = {metric.label: metric.value for metric in at.metric}
    coverage = api.get("coverage", sums.coverage)
    expected = {
        "Consumption": format_energy(api["consumption"]),
        "Cost": format_money(api["cost"], "EUR"),
        "Average power": format_power(avg_w),
        "Coverage": format_share(coverage, digits=1 if coverage < 0.999 else 0),
    }
    if sums.generated:
        expected["Generation"] = format_energy(api["generation"])
    assert {k: shown.get(k) for k in expected} == expected

    csv = pd.read_csv(io.BytesIO(app["h_x"]))
    together = csv[csv["device_id"].isna()].set_index("metric")["value"]
    for label, metric in METRICS.items():
        if metric in together.index:
            assert together[metric] == pytest.approx(api[metric.removesuffix("_wh")], rel=1e-9), (
                f"{name}: the CSV's {label}"
            )
    # Each device's row of the CSV is the API's row of that device.
    summary = client.get(
        "/api/v1/telemetry/summary",
        params={"start": period.start.isoformat(), "end": period.end.isoformat()},
        headers={"Authorization": f"Bearer {seeded.read_key}"},
    ).json()
    rows = {row["device_id"]: api_row(row) for row in summary["devices"]}
    for device_id, figures in csv[csv["device_id"].notna()].groupby("device_id"):
        values = figures.set_index("metric")["value"]
        for metric in values.index:
            want = rows[device_id][metric.removesuffix("_wh")]
            got = None if pd.isna(values[metric]) else values[metric]
            if want is None or got is None:
                assert got is want, f"{name}: {device_id} {metric}: {got!r}, the API {want!r}"
            else:
                assert got == pytest.approx(want, rel=1e-9), f"{name}: {device_id} {metric}"


def test_the_energy_by_device_csv_holds_each_devices_consumption_of_each_day(
    app: dict, seeded: Seeded, oracle: Oracle
):
    """History's "Energy by device" CSV over the last 7 days by day: a row for every device and
    day, whose consumption is the readings' (the figure the browser test downloads and checks,
    tests/e2e/test_browser.py, which drives the browser on one backend)."""
    period = preset_period("last_7_days", now=NOW, timezone=LONDON)
    app.clear()
    at = sign_in(open_app(), seeded.email)
    at.query_params["range"] = "last_7_days"
    at.query_params["granularity"] = "day"
    at = at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception

    csv = pd.read_csv(io.BytesIO(app["h_e"]))
    days = dict(buckets(period.start, period.end, "day", oracle.tz))
    rows = list(zip(csv["device_id"], map(pd.Timestamp, csv["period_start"]), strict=True))
    assert len(set(rows)) == len(rows)
    assert sorted({start for _, start in rows}) == list(map(pd.Timestamp, days))
    compared = set()
    for (device_id, start), consumption_wh in zip(rows, csv["consumption_wh"], strict=True):
        lo = start.to_pydatetime()
        want = oracle.device(device_id, lo, days[lo]).consumption
        if oracle.is_meter(device_id) or want is None:
            assert pd.isna(consumption_wh), f"{device_id} {start}: {consumption_wh}"
        else:
            assert consumption_wh == pytest.approx(want, rel=1e-9), f"{device_id} {start}"
            compared.add((device_id, lo))
    # Every day of every device that has readings that day has its row.
    assert compared == {
        (device_id, lo)
        for device_id in oracle.devices
        if not oracle.is_meter(device_id)
        for lo, hi in days.items()
        if oracle.device(device_id, lo, hi).consumption is not None
    }


@pytest.mark.parametrize("device_id", ["heat-pump", "solar", "grid"])
def test_the_device_page_says_what_the_api_says(
    app: dict, seeded: Seeded, client: TestClient, device_id: str
):
    """A consumer's, a generator's and the grid meter's page over its default window (the last
    7 days: today so far and the 6 whole days before, as History means it): the figures of
    /stats/{device_id} over the same window."""
    period = preset_period("last_7_days", now=NOW, timezone=LONDON)
    api = api_stats(client, seeded.read_key, period, device_id)
    at = sign_in(open_app(), seeded.email)
    at.query_params["device"] = device_id
    at = at.switch_page("pages/device.py").run()
    assert not at.exception, at.exception

    shown = {metric.label: metric.value for metric in at.metric}
    coverage = api["coverage"]
    expected = {
        "Coverage": format_share(coverage, digits=1 if coverage < 0.999 else 0),
        "Cost": format_money(api["cost"], "EUR"),
    }
    if device_id == "solar":
        expected |= {
            "Generation": format_energy(api["generation"]),
            "Peak generation": format_power(api["peak_generation"]),
            "Own consumption": format_energy(api["consumption"]),
        }
    elif device_id == "grid":
        # The meter draws nothing itself: its figures are the import and export it read.
        assert api["consumption"] is None and api["import"] > 0 and api["export"] > 0
        expected |= {
            "Grid import": format_energy(api["import"]),
            "Grid export": format_energy(api["export"]),
            "Net import": format_energy(api["import"] - api["export"]),
            "Peak power": format_power(api["peak"]),
        }
        assert "Consumption" not in shown
    else:
        expected |= {
            "Consumption": format_energy(api["consumption"]),
            "Peak power": format_power(api["peak"]),
        }
    assert {k: shown.get(k) for k in expected} == expected
